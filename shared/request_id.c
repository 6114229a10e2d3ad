/* request_id.c - see request_id.h. */
#include "request_id.h"

#include <string.h>

#include "util.h"

bool request_id_valid(const char *id)
{
	size_t n = 0;

	if (!id)
		return false;
	for (; id[n]; n++) {
		char ch = id[n];

		if (n >= REQUEST_ID_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-'))
			return false;
	}
	return n > 0;
}

void request_id_generate(char *buf)
{
	memcpy(buf, "req_", 4);
	random_id_alnum(buf + 4, REQUEST_ID_GEN_LEN - 4);
}
