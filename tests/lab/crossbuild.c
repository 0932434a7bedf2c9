/*
 * The lab's digests do not depend on the compiler or the optimisation
 * level: tools/lab-digest-check.sh builds the library and a digest program
 * with gcc and clang (when installed) at -O0 and -O2 and compares what each
 * build prints.
 */
#include "harness.h"

TEST(digests_are_identical_across_compilers_and_optimisation_levels)
{
	char cmd[1024], dir[64];
	int rc;

	snprintf(dir, sizeof dir, "/tmp/asup-digests-%d", (int)getpid());
	snprintf(cmd, sizeof cmd, "%s/tools/lab-digest-check.sh %s %s && rm -rf %s", ASUP_SOURCE_DIR,
		 ASUP_SOURCE_DIR, dir, dir);
	rc = system(cmd);
	CHECK(WIFEXITED(rc));
	CHECK_EQ(WEXITSTATUS(rc), 0);
}
