/* httpparse.h -- the time and text helpers of httpparse.c that the
 * incident and key modules share (private). */
#ifndef WG_HTTPPARSE_H
#define WG_HTTPPARSE_H

#include "wangge/wangge.h"

#include <stddef.h>
#include <stdint.h>

/* Parses an RFC 3339 time with an offset ("2024-03-01T08:00:00+08:00",
 * "...Z", fractions of seconds dropped) into seconds since 1970 UTC.
 * Returns 1 on success, 0 if malformed or outside years 1970..9999. */
int wg_time_parse(const char *s, size_t len, int64_t *t);

/* Formats `t` (seconds since 1970 UTC) as "YYYY-MM-DDTHH:MM:SSZ". */
void wg_time_format(int64_t t, char out[24]);

/* The current time, seconds since 1970 UTC. */
int64_t wg_time_now(void);

/* 1 if `s` is acceptable free text of at most `max` bytes: valid UTF-8, no
 * NUL, no control characters except (when `multiline`) tab, CR and LF. */
int wg_text_ok(const char *s, size_t len, size_t max, int multiline);

#endif
