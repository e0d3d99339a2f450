/* SPDX-License-Identifier: Apache-2.0 */
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include "basic/fileio.h"
#include "fleet/trust.h"
#include "shared/pki.h"

int trust_load(const struct seedgen_options *o, struct trust *t) {
        int r;
        if (o->ca_cert_file) {
                _cleanup_free_ char *key = NULL;
                r = read_full_file(o->ca_cert_file, &t->ca_cert, NULL);
                if (r >= 0)
                        r = read_full_file(o->ca_key_file, &key, NULL);
                if (r >= 0)
                        r = secret_set(&t->ca_key, key);
                if (key)
                        explicit_bzero(key, strlen(key));
        } else
                r = pki_make_ca(&t->ca_cert, &t->ca_key);
        if (r >= 0)
                r = pki_ca_cert_hash(t->ca_cert, &t->ca_hash);
        if (r >= 0)
                r = pki_make_token(&t->token);
        unsigned char rnd[4];
        if (r >= 0 && getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                r = -EIO;
        if (r >= 0 && asprintf(&t->rollout, "%02x%02x%02x%02x", rnd[0], rnd[1], rnd[2], rnd[3]) < 0)
                r = -ENOMEM;
        t->expires = time(NULL) + (o->token_ttl_s > 0 ? o->token_ttl_s : 24 * 3600);
        return r;
}

void trust_done(struct trust *t) {
        free(t->ca_cert);
        free(t->ca_hash);
        free(t->rollout);
        secret_clear(&t->ca_key);
        secret_clear(&t->token);
}
