/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "basic/cmdline.h"

bool cmdline_next_word(const char **p, char *word, size_t size) {
        while (isspace((unsigned char) **p))
                (*p)++;
        if (!**p)
                return false;
        size_t n = 0;
        bool q = false;
        for (; **p && (q || !isspace((unsigned char) **p)); (*p)++) {
                if (**p == '"')
                        q = !q;
                else if (n + 1 < size)
                        word[n++] = **p;
        }
        word[n] = 0;
        return true;
}

int cmdline_get_value(const char *cmdline, const char *key, char **ret) {
        char word[4096];
        size_t kl = strlen(key);
        *ret = NULL;
        for (const char *p = cmdline; cmdline_next_word(&p, word, sizeof(word));) {
                if (strncmp(word, key, kl) != 0 || word[kl] != '=')
                        continue;
                free(*ret);
                if (!(*ret = strdup(word + kl + 1)))
                        return -ENOMEM;
        }
        return 0;
}
