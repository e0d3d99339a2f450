/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Logging to stderr (and, when running as the service, the journal with the
 * same text). Errors are logged once, where they are handled; the _errno
 * forms take a negative errno, log strerror of it, and return it. Never pass
 * a secret here: secret.h's type has no way to be formatted. */

#include "basic/macro.h"

enum log_level { LOG_LEVEL_ERR = 3, LOG_LEVEL_WARNING = 4, LOG_LEVEL_INFO = 6, LOG_LEVEL_DEBUG = 7 };

void log_set_max_level(enum log_level l);
void log_set_journal(int on);   /* also send to the journal (sd_journal_print) */
void log_msg(enum log_level l, const char *fmt, ...) _printf_(2, 3);
int log_errno_msg(enum log_level l, int negerr, const char *fmt, ...) _printf_(3, 4);

#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_error(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_error_errno(r, ...) log_errno_msg(LOG_LEVEL_ERR, (r), __VA_ARGS__)
#define log_warning_errno(r, ...) log_errno_msg(LOG_LEVEL_WARNING, (r), __VA_ARGS__)

/* Not a log line: the reason handed up to the caller that will log it (or
 * print it) once. Formats into *error (a new string; error may be NULL, and
 * on ENOMEM *error is NULL) and returns r, so `return errorf(error, -EINVAL,
 * "...")` reads as what happened. */
int errorf(char **error, int r, const char *fmt, ...) _printf_(3, 4);
