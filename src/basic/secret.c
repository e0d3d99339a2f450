/* SPDX-License-Identifier: Apache-2.0 */
#include <string.h>
#include <strings.h>
#include "basic/secret.h"

int secret_set(secret *s, const char *value) {
        char *v = strdup(value);
        if (!v)
                return -ENOMEM;
        secret_clear(s);
        s->value_ = v;
        return 0;
}

const char *secret_reveal(const secret *s) {
        return s->value_;
}

int secret_is_set(const secret *s) {
        return s->value_ != NULL;
}

void secret_clear(secret *s) {
        if (!s->value_)
                return;
        explicit_bzero(s->value_, strlen(s->value_));
        free(s->value_);
        s->value_ = NULL;
}
