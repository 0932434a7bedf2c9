/* asup_strerror / asup_err_name, generated from the one table in core.h. */
#include "asupersync/core.h"

#include <limits.h>

ASUP_API const char *asup_strerror(int err)
{
	if (err == INT_MIN)
		return "unknown error";
	if (err < 0)
		err = -err;
	switch (err) {
#define ASUP_ERR_TEXT(name, val, text) \
	case (val):                    \
		return text;
		ASUP_ERRNO_TABLE(ASUP_ERR_TEXT)
#undef ASUP_ERR_TEXT
	default:
		return "unknown error";
	}
}

ASUP_API const char *asup_err_name(int err)
{
	if (err == INT_MIN)
		return "ASUP_EUNKNOWN";
	if (err < 0)
		err = -err;
	switch (err) {
#define ASUP_ERR_NAME(name, val, text) \
	case (val):                    \
		return #name;
		ASUP_ERRNO_TABLE(ASUP_ERR_NAME)
#undef ASUP_ERR_NAME
	default:
		return "ASUP_EUNKNOWN";
	}
}

ASUP_API const char *asup_outcome_kind_name(asup_outcome_kind kind)
{
	switch (kind) {
	case ASUP_OUTCOME_OK:
		return "ok";
	case ASUP_OUTCOME_ERR:
		return "err";
	case ASUP_OUTCOME_CANCELLED:
		return "cancelled";
	case ASUP_OUTCOME_PANICKED:
		return "panicked";
	default:
		return "invalid";
	}
}
