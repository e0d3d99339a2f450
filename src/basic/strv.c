/* SPDX-License-Identifier: Apache-2.0 */
#include <stdlib.h>
#include <string.h>
#include "basic/strv.h"

size_t strv_length(char * const *l) {
        size_t n = 0;
        while (l && l[n])
                n++;
        return n;
}

int strv_consume(char ***l, char *s) {
        if (!s)
                return -ENOMEM;
        size_t n = strv_length(*l);
        char **m = realloc(*l, (n + 2) * sizeof(char *));
        if (!m) {
                free(s);
                return -ENOMEM;
        }
        m[n] = s;
        m[n + 1] = NULL;
        *l = m;
        return 0;
}

int strv_extend(char ***l, const char *s) {
        return strv_consume(l, strdup(s));
}

bool strv_contains(char * const *l, const char *s) {
        STRV_FOREACH(i, l)
                if (STREQ(*i, s))
                        return true;
        return false;
}

char **strv_copy(char * const *l) {
        char **r = calloc(1, sizeof(char *));
        if (!r)
                return NULL;
        STRV_FOREACH(i, l)
                if (strv_extend(&r, *i) < 0) {
                        strv_free(r);
                        return NULL;
                }
        return r;
}

void strv_free(char **l) {
        STRV_FOREACH(i, l)
                free(*i);
        free(l);
}

char *strv_join(char * const *l, const char *sep) {
        size_t len = 1, seplen = strlen(sep);
        STRV_FOREACH(i, l)
                len += strlen(*i) + seplen;
        char *r = malloc(len), *p = r;
        if (!r)
                return NULL;
        *p = 0;
        STRV_FOREACH(i, l) {
                if (i != l)
                        p = stpcpy(p, sep);
                p = stpcpy(p, *i);
        }
        return r;
}
