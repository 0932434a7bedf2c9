/*
 * The error table: every code has a name and a text, and every code the
 * library's source returns is in the table. The source is scanned from the
 * tree this file was compiled from.
 */
#include "harness.h"

#include <ftw.h>
#include <limits.h>
#include <regex.h>

#include "asupersync/core.h"

struct entry {
	const char *name;
	int val;
	const char *text;
};

static const struct entry table[] = {
#define X(name, val, text) {#name, (val), (text)},
	ASUP_ERRNO_TABLE(X)
#undef X
};
#define NTABLE (sizeof table / sizeof table[0])

TEST(every_code_in_the_table_has_its_name_and_text)
{
	for (size_t i = 0; i < NTABLE; i++) {
		const struct entry *e = &table[i];
		CHECK(e->text[0] != 0);
		CHECK(strcmp(asup_err_name(e->val), e->name) == 0);
		CHECK(strcmp(asup_err_name(-e->val), e->name) == 0);
		CHECK(strcmp(asup_strerror(-e->val), e->text) == 0);
		CHECK(strcmp(asup_strerror(e->val), "unknown error") != 0);
		for (size_t j = 0; j < i; j++) {
			CHECK(table[j].val != e->val);
			CHECK(strcmp(table[j].name, e->name) != 0);
		}
	}
}

TEST(errno_codes_carry_the_errno_value_and_name)
{
	for (size_t i = 0; i < NTABLE; i++) {
		const struct entry *e = &table[i];
		if (e->val == 0)
			continue;
		if (e->val >= ASUP_ERRBASE) {
			CHECK(strncmp(e->name, "ASUP_E", 6) == 0);
			continue;
		}
		CHECK(e->val < ASUP_ERRBASE);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
		/* ASUP_EXXX == EXXX: the table's name matches the C library's. */
		const char *sys = strerrorname_np(e->val);
		CHECK(sys != NULL);
		CHECK_EQ(strcmp(e->name + 5, sys), 0);
#endif
	}
}

TEST(unknown_codes_get_placeholders_not_null)
{
	int odd[] = {INT_MIN, INT_MAX, -ASUP_ERRBASE, -(ASUP_ERRBASE + 999), -4095};
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
		CHECK(strcmp(asup_err_name(odd[i]), "ASUP_EUNKNOWN") == 0);
		CHECK(strcmp(asup_strerror(odd[i]), "unknown error") == 0);
	}
}

/* ---- every code the source returns ---- */

static regex_t code_re;
static int codes_found, codes_missing;

static const struct entry *lookup(const char *tok)
{
	char name[80];
	/* "-EIO" -> "ASUP_EIO"; "-ASUP_ECLOSED" stays "ASUP_ECLOSED". */
	snprintf(name, sizeof name, "%s%s", strncmp(tok, "ASUP_", 5) ? "ASUP_" : "", tok);
	for (size_t i = 0; i < NTABLE; i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

static void scan_text(const char *path, const char *text)
{
	regmatch_t m[2];
	const char *p = text;
	while (regexec(&code_re, p, 2, m, p == text ? 0 : REG_NOTBOL) == 0) {
		char tok[64];
		size_t len = (size_t)(m[1].rm_eo - m[1].rm_so);
		if (len < sizeof tok) {
			memcpy(tok, p + m[1].rm_so, len);
			tok[len] = 0;
			codes_found++;
			const struct entry *e = lookup(tok);
			if (!e || strcmp(asup_strerror(-e->val), "unknown error") == 0) {
				fprintf(stderr, "%s: -%s has no entry in the error table\n", path, tok);
				codes_missing++;
			}
		}
		p += m[0].rm_eo;
	}
}

static int scan_file(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	size_t n = strlen(path);
	FILE *f;
	char *buf;

	if (type != FTW_F || n < 2 || path[n - 2] != '.' || (path[n - 1] != 'c' && path[n - 1] != 'h'))
		return 0;
	f = fopen(path, "r");
	CHECK(f != NULL);
	buf = malloc((size_t)st->st_size + 1);
	CHECK(buf != NULL);
	CHECK_EQ(fread(buf, 1, (size_t)st->st_size, f), (size_t)st->st_size);
	buf[st->st_size] = 0;
	fclose(f);
	scan_text(path, buf);
	free(buf);
	return 0;
}

TEST(every_code_the_source_returns_is_in_the_table)
{
	char root[PATH_MAX], dir[PATH_MAX + 16];
	const char *tail = "/tests/core/errors.c";
	size_t n = strlen(__FILE__), t = strlen(tail);

	/* CMake compiles with absolute source paths: the tree is __FILE__'s. */
	CHECK(__FILE__[0] == '/' && n > t && n - t < sizeof root);
	CHECK(strcmp(__FILE__ + n - t, tail) == 0);
	memcpy(root, __FILE__, n - t);
	root[n - t] = 0;
	/* A minus sign before a capitalised E-name: "-EIO", "-ASUP_ECLOSED". */
	CHECK_EQ(regcomp(&code_re, "-((ASUP_)?E[A-Z][A-Z0-9]*)", REG_EXTENDED), 0);
	snprintf(dir, sizeof dir, "%s/src", root);
	CHECK_EQ(nftw(dir, scan_file, 16, FTW_PHYS), 0);
	snprintf(dir, sizeof dir, "%s/include", root);
	CHECK_EQ(nftw(dir, scan_file, 16, FTW_PHYS), 0);
	regfree(&code_re);
	printf("%d error codes returned or documented in src/ and include/\n", codes_found);
	CHECK(codes_found > 100); /* the scan did see the source */
	CHECK_EQ(codes_missing, 0);
}
