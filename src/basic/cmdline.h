/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The kernel command line, read as the kernel reads it: words separated
 * by white space, double quotes grouping (and dropped), so
 * `nodeos.x="a b"` is one word `nodeos.x=a b`. One reader for every
 * parameter the agent takes from it (ds=nocloud, nodeos.seed_pin=,
 * nodeos.slot=, nodeos.*.verity=). */

#include <stdbool.h>
#include <stddef.h>

/* The next word at *p into word (at most size - 1 bytes kept), *p moved
 * past it; false at the end. */
bool cmdline_next_word(const char **p, char *word, size_t size);
/* The value of the last KEY=VALUE word (the kernel's own rule: the last
 * one wins) in *ret (new string), NULL when no word is KEY=...; -ENOMEM. */
int cmdline_get_value(const char *cmdline, const char *key, char **ret);
