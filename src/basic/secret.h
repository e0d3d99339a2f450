/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A secret string (bootstrap token, CA key). It is a distinct type so that it
 * cannot be handed to printf-style logging by accident; the only way to read
 * it is secret_reveal(), which call sites use when writing a 0600 file.
 * Freed memory is wiped. */

#include <stddef.h>
#include "basic/macro.h"

typedef struct secret {
        char *value_;   /* never read this directly: use secret_reveal() */
} secret;

int secret_set(secret *s, const char *value);   /* copies; -ENOMEM */
const char *secret_reveal(const secret *s);     /* NULL when unset */
int secret_is_set(const secret *s);
void secret_clear(secret *s);                   /* wipes and frees */
