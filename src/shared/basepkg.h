/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The image's base package list, /usr/share/nodeos/base-packages: one
 * "name<TAB>version" line per package of the base (dpkg-query's output at
 * image build time). A renderer reads from it the version of the tool whose
 * file it writes, where what that file may say depends on the version.
 * Without a list (an image from before it, `--root` over a scratch tree)
 * nothing is known, and renderers write what every supported version takes. */

#include <stdbool.h>
#include "basic/macro.h"

#define BASE_PACKAGES_PATH "/usr/share/nodeos/base-packages"

struct base_packages {
        char *text;             /* the validated list; NULL: no list */
};

/* Loads root's list (root NULL or "/": the running system's). A missing file
 * gives an empty struct and 0; a malformed line -EBADMSG with
 * "PATH:LINE: reason" in *error (new string). */
int base_packages_load(const char *root, struct base_packages *ret, char **error);
/* Parses a list's text (taking a copy); error as above, named by name. */
int base_packages_parse(const char *text, const char *name, struct base_packages *ret, char **error);
void base_packages_done(struct base_packages *p);

/* Whether package name is in the list with an upstream version (Debian
 * epoch and revision aside) of at least major.minor. False when there is
 * no list, no such package, or a version that does not start with digits. */
bool base_package_at_least(const struct base_packages *p, const char *name, unsigned major, unsigned minor);
