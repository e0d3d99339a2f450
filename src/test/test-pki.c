/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of pki.c: the rollout's CA, its kubeadm pin, bootstrap tokens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include "basic/secret.h"
#include "shared/pki.h"

static void mints_a_ca_whose_pin_has_kubeadms_form(void **state) {
        (void) state;
        char *cert = NULL, *hash = NULL;
        secret key = {}, tok = {};
        regex_t re;
        assert_int_equal(pki_make_ca(&cert, &key), 0);
        assert_non_null(strstr(cert, "-----BEGIN CERTIFICATE-----"));
        assert_non_null(strstr(secret_reveal(&key), "PRIVATE KEY-----"));
        assert_int_equal(pki_ca_cert_hash(cert, &hash), 0);
        assert_int_equal(regcomp(&re, "^sha256:[0-9a-f]{64}$", REG_EXTENDED | REG_NOSUB), 0);
        assert_int_equal(regexec(&re, hash, 0, NULL, 0), 0);
        regfree(&re);
        assert_int_equal(pki_make_token(&tok), 0);
        assert_int_equal(regcomp(&re, "^[a-z0-9]{6}\\.[a-z0-9]{16}$", REG_EXTENDED | REG_NOSUB), 0);
        assert_int_equal(regexec(&re, secret_reveal(&tok), 0, NULL, 0), 0);
        regfree(&re);
        assert_int_equal(pki_ca_cert_hash("not a pem", &hash), -EINVAL);
        secret_clear(&key);
        secret_clear(&tok);
        free(cert);
        free(hash);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(mints_a_ca_whose_pin_has_kubeadms_form),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
