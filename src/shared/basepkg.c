/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "basic/fileio.h"
#include "shared/basepkg.h"

/* dpkg's rules for the two fields: a name is [a-z0-9][a-z0-9+.-]+ (with an
 * optional ":arch"), a version has no blanks. */
static bool valid_name(const char *s, size_t n) {
        if (n < 2 || !(islower((unsigned char) s[0]) || isdigit((unsigned char) s[0])))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i]) || strchr("+.-:", s[i])))
                        return false;
        return true;
}

static bool valid_version(const char *s, size_t n) {
        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++)
                if (isspace((unsigned char) s[i]) || !isprint((unsigned char) s[i]))
                        return false;
        return true;
}

static int check_line(const char *line, size_t len, const char **reason) {
        const char *tab = memchr(line, '\t', len);
        if (!tab) {
                *reason = "expected 'name<TAB>version'";
                return -EBADMSG;
        }
        size_t nl = (size_t) (tab - line), vl = len - nl - 1;
        if (!valid_name(line, nl)) {
                *reason = "not a package name";
                return -EBADMSG;
        }
        if (!valid_version(tab + 1, vl)) {
                *reason = "not a package version";
                return -EBADMSG;
        }
        return 0;
}

static int check_list(const char *text, const char *name, char **error) {
        unsigned lineno = 1;
        for (const char *p = text; *p; lineno++) {
                size_t len = strcspn(p, "\n");
                const char *reason = NULL;
                if (len > 0 && check_line(p, len, &reason) < 0) {
                        if (asprintf(error, "%s:%u: %s", name, lineno, reason) < 0)
                                *error = NULL;
                        return -EBADMSG;
                }
                p += len + (p[len] == '\n');
        }
        return 0;
}

int base_packages_parse(const char *text, const char *name, struct base_packages *ret, char **error) {
        int r = check_list(text, name, error);
        if (r < 0)
                return r;
        ret->text = strdup(text);
        return ret->text ? 0 : -ENOMEM;
}

int base_packages_load(const char *root, struct base_packages *ret, char **error) {
        _cleanup_free_ char *path = path_in_root(root, BASE_PACKAGES_PATH), *text = NULL;
        *ret = (struct base_packages) {};
        if (!path)
                return -ENOMEM;
        int r = read_file_in_root(root, BASE_PACKAGES_PATH, &text, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                if (asprintf(error, "%s: %s", path, strerror(-r)) < 0)
                        *error = NULL;
                return r;
        }
        r = check_list(text, path, error);
        if (r < 0)
                return r;
        ret->text = TAKE_PTR(text);
        return 0;
}

void base_packages_done(struct base_packages *p) {
        free(p->text);
        p->text = NULL;
}

/* The version field of name's line, up to its newline, or NULL. */
static const char *find_version(const char *text, const char *name, size_t *len) {
        size_t n = strlen(name);
        for (const char *p = text; *p;) {
                if (strncmp(p, name, n) == 0 && p[n] == '\t') {
                        *len = strcspn(p + n + 1, "\n");
                        return p + n + 1;
                }
                const char *nl = strchr(p, '\n');
                if (!nl)
                        break;
                p = nl + 1;
        }
        return NULL;
}

/* Reads digits into *v; false when there are none or too many. */
static bool read_number(const char **s, const char *end, unsigned *v) {
        const char *p = *s;
        unsigned long x = 0;
        while (p < end && isdigit((unsigned char) *p) && x < 1000000)
                x = x * 10 + (unsigned) (*p++ - '0');
        if (p == *s || x >= 1000000)
                return false;
        *v = (unsigned) x;
        *s = p;
        return true;
}

bool base_package_at_least(const struct base_packages *p, const char *name, unsigned major, unsigned minor) {
        size_t len;
        const char *v = p && p->text ? find_version(p->text, name, &len) : NULL;
        if (!v)
                return false;
        const char *end = v + len, *colon = memchr(v, ':', len);
        if (colon)
                v = colon + 1;  /* the epoch: never part of the upstream version */
        unsigned ma, mi = 0;
        if (!read_number(&v, end, &ma))
                return false;
        if (v < end && *v == '.') {
                v++;
                if (!read_number(&v, end, &mi))
                        return false;
        }
        return ma > major || (ma == major && mi >= minor);
}
