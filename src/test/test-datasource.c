/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of datasource.c: the ds=nocloud URL as the kernel command
 * line and the SMBIOS serial number carry it, and the order of the
 * sources on a scratch root (file:// URLs: no network). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include "agent/datasource.h"
#include "basic/fileio.h"
#include "basic/log.h"
#include "test-util.h"

static void the_url_is_read_as_the_kernel_and_smbios_give_it(void **state) {
        (void) state;
        static const struct { const char *in, *want; } cases[] = {
                { "quiet ds=nocloud;s=http://10.0.0.1:8000/seed ro", "http://10.0.0.1:8000/seed/" },
                { "ds=nocloud-net;s=https://h/x/", "https://h/x/" },
                { "ds=nocloud;seedfrom=file:///srv/seed", "file:///srv/seed/" },
                { "\"ds=nocloud;s=http://h/a b/\"", "http://h/a b/" },
                { "ds=nocloud;s=http://10.10.0.1:8000/\n", "http://10.10.0.1:8000/" },     /* a serial as sysfs prints it */
                { "ds=nocloud;i=iid-1", NULL },
                { "ds=other;s=http://h/", NULL },
                { "", NULL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = datasource_url_from_cmdline(cases[i].in);
                if (cases[i].want)
                        assert_string_equal(got, cases[i].want);
                else
                        assert_null(got);
        }
}

static void the_seed_pin_is_read_in_curls_form_or_refused(void **state) {
        (void) state;
        static const char k1[] = "sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=",
                          k2[] = "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";
        static const struct { const char *in, *want; int r; } cases[] = {
                { "ro ds=nocloud;s=https://h/ nodeos.seed_pin=sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg= quiet", k1, 0 },
                { "nodeos.seed_pin=sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=;sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
                  "sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=;sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", 0 },
                { "nodeos.seed_pin=sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg= nodeos.seed_pin=sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", k2, 0 },
                { "ro quiet", NULL, 0 },
                { "nodeos.seed_pin=", NULL, 0 },                        /* nothing pinned: as absent */
                { "nodeos.seed_pin=sha1//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", NULL, -EINVAL },
                { "nodeos.seed_pin=sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCg", NULL, -EINVAL },
                { "nodeos.seed_pin=sha256//n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=;", NULL, 0 },   /* a trailing ';' is no second pin */
                { "nodeos.seed_pin=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", NULL, -EINVAL },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *got = NULL;
                int r = datasource_pin_from_cmdline(cases[i].in, &got);
                assert_int_equal(r, cases[i].r);
                if (r < 0 || !cases[i].want)
                        continue;
                assert_string_equal(got, cases[i].want);
        }
}

struct fixture {
        char *dir, *root, *labels, *cmdline, *seed;
};

static void fixture_make(struct fixture *f) {
        f->dir = make_tmpdir("nodeos-ds-");
        assert_true(asprintf(&f->root, "%s/root", f->dir) > 0 && asprintf(&f->labels, "%s/by-label", f->dir) > 0 &&
                    asprintf(&f->cmdline, "%s/cmdline", f->dir) > 0 && asprintf(&f->seed, "%s/seed", f->dir) > 0);
        assert_int_equal(mkdir(f->root, 0755), 0);
        assert_int_equal(mkdir(f->labels, 0755), 0);
        assert_int_equal(mkdir(f->seed, 0755), 0);
        static const char * const files[] = { "meta-data", "user-data" };
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *from = NULL, *to = NULL, *text = NULL;
                size_t len = 0;
                assert_true(asprintf(&from, "cloud-init/examples/lb/%s", files[i]) > 0 && asprintf(&to, "%s/%s", f->seed, files[i]) > 0);
                assert_int_equal(read_full_file(from, &text, &len), 0);
                assert_int_equal(write_file_atomic("/", to, text, len, 0600, -1, -1, NULL), 0);
        }
}

static void fixture_free(struct fixture *f) {
        rm_rf(f->dir);
        free(f->dir);
        free(f->root);
        free(f->labels);
        free(f->cmdline);
        free(f->seed);
}

static int fetch(const struct fixture *f, const char *cmdline, const char *serial, struct seed *ret) {
        _cleanup_free_ char *serial_line = NULL;
        assert_int_equal(write_file_atomic("/", f->cmdline, cmdline, strlen(cmdline), 0644, -1, -1, NULL), 0);
        if (serial) {
                assert_true(asprintf(&serial_line, "%s\n", serial) > 0);
                assert_int_equal(write_file_atomic(f->root, "/sys/class/dmi/id/product_serial", serial_line, strlen(serial_line),
                                                   0400, -1, -1, NULL), 0);
        }
        struct datasource_options o = { .root = f->root, .cmdline_path = f->cmdline, .by_label_dir = f->labels,
                                        .http_attempts = 1, .http_timeout_ms = 2000 };
        return datasource_fetch(&o, ret);
}

static void a_seed_url_in_the_smbios_serial_is_found(void **state) {
        (void) state;
        struct fixture f = {};
        fixture_make(&f);
        struct seed s = {};
        assert_int_equal(fetch(&f, "quiet\n", NULL, &s), -ENOENT);
        _cleanup_free_ char *serial = NULL, *want = NULL;
        assert_true(asprintf(&serial, "ds=nocloud;s=file://%s/", f.seed) > 0 && asprintf(&want, "url:file://%s/", f.seed) > 0);
        assert_int_equal(fetch(&f, "quiet\n", serial, &s), 0);
        assert_string_equal(s.source, want);
        assert_non_null(strstr(s.user_data, "role: lb"));
        seed_done(&s);
        fixture_free(&f);
}

static void the_kernel_command_line_comes_before_the_smbios_serial(void **state) {
        (void) state;
        struct fixture f = {};
        fixture_make(&f);
        struct seed s = {};
        _cleanup_free_ char *cmdline = NULL, *want = NULL;
        assert_true(asprintf(&cmdline, "ro ds=nocloud;s=file://%s/\n", f.seed) > 0 && asprintf(&want, "url:file://%s/", f.seed) > 0);
        assert_int_equal(fetch(&f, cmdline, "ds=nocloud;s=file:///nonexistent-nodeos-seed/", &s), 0);
        assert_string_equal(s.source, want);
        seed_done(&s);
        fixture_free(&f);
}

int main(void) {
        log_set_max_level(LOG_LEVEL_ERR);
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(the_url_is_read_as_the_kernel_and_smbios_give_it),
                cmocka_unit_test(the_seed_pin_is_read_in_curls_form_or_refused),
                cmocka_unit_test(a_seed_url_in_the_smbios_serial_is_found),
                cmocka_unit_test(the_kernel_command_line_comes_before_the_smbios_serial),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
