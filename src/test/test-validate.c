/* SPDX-License-Identifier: Apache-2.0 */
/* The value checks the agent and the fleet tool share (shared/validate.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "shared/validate.h"

static void ip_addresses_are_literals_of_either_family(void **state) {
        (void) state;
        assert_true(ip_address_is_valid("192.168.0.10"));
        assert_true(ip_address_is_valid("fd00::10"));
        assert_false(ip_address_is_valid("192.168.0.256"));
        assert_false(ip_address_is_valid("master"));
        assert_false(ip_address_is_valid(""));
}

static void hostnames_are_lower_case_rfc1123_and_never_addresses(void **state) {
        (void) state;
        assert_true(hostname_is_valid("verne-1"));
        assert_true(hostname_is_valid("node.example"));
        assert_false(hostname_is_valid("Verne"));
        assert_false(hostname_is_valid("verne_1"));
        assert_false(hostname_is_valid("-verne"));
        assert_false(hostname_is_valid("verne-"));
        assert_false(hostname_is_valid("a..b"));
        assert_false(hostname_is_valid(""));
        /* a node name that is an address is refused by both programs */
        assert_false(hostname_is_valid("10.0.0.1"));
        char label[70] = {};
        for (int i = 0; i < 64; i++)
                label[i] = 'a';
        assert_false(hostname_is_valid(label));
        label[63] = 0;
        assert_true(hostname_is_valid(label));
}

static void cidrs_say_what_is_wrong(void **state) {
        (void) state;
        assert_null(cidr_problem("10.244.0.0/16", true));
        assert_null(cidr_problem("192.168.0.10/24", false));
        assert_string_equal(cidr_problem("192.168.0.10/24", true), "host bits set (not a network address)");
        assert_string_equal(cidr_problem("10.0.0.0", false), "missing /prefix");
        assert_string_equal(cidr_problem("10.0.0.0/33", false), "prefix must be 0..32");
        assert_string_equal(cidr_problem("fd00::/129", false), "prefix must be 0..128");
        assert_string_equal(cidr_problem("10.0.0.0/+8", false), "prefix must be 0..32");
}

static void tokens_hashes_and_keys_have_kubeadms_and_openssh_forms(void **state) {
        (void) state;
        assert_true(bootstrap_token_is_valid("abcdef.0123456789abcdef"));
        assert_false(bootstrap_token_is_valid("ABCDEF.0123456789abcdef"));
        assert_false(bootstrap_token_is_valid(NULL));
        assert_true(ca_cert_hash_is_valid("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        assert_false(ca_cert_hash_is_valid("sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
        assert_false(ca_cert_hash_is_valid("md5:00"));
        assert_true(ssh_public_key_is_valid("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI x@y"));
        assert_false(ssh_public_key_is_valid("ssh-ed25519 "));
        assert_false(ssh_public_key_is_valid("ssh-dss AAAA"));
        assert_false(ssh_public_key_is_valid("ssh-ed25519 AAAA\nssh-rsa BBBB"));
}

static void endpoints_need_brackets_around_ipv6(void **state) {
        (void) state;
        assert_null(endpoint_problem("192.168.0.10:6443"));
        assert_null(endpoint_problem("master.example:6443"));
        assert_null(endpoint_problem("[fd00::10]:6443"));
        assert_string_equal(endpoint_problem("fd00::10:6443"), "an IPv6 address needs brackets: [IPv6]:port");
        assert_string_equal(endpoint_problem("192.168.0.10"), "want host:port");
        assert_string_equal(endpoint_problem("192.168.0.10:70000"), "port must be 1..65535");
}

static void times_are_rfc3339_calendar_dates(void **state) {
        (void) state;
        int64_t t = 0;
        assert_null(rfc3339_problem("2026-11-25T12:00:00Z", &t));
        assert_int_equal(t, 1795608000);
        assert_null(rfc3339_problem("2026-11-25T13:00:00+01:00", &t));
        assert_int_equal(t, 1795608000);
        assert_string_equal(rfc3339_problem("2026-02-31T00:00:00Z", &t), "is not a calendar date and time");
        assert_string_equal(rfc3339_problem("2026-11-25 12:00:00Z", &t), "is not an RFC 3339 time like 2026-11-25T12:00:00Z");
        assert_string_equal(rfc3339_problem("1970-01-01T00:00:00Z", &t), "is not after 1970-01-01T00:00:00Z");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(ip_addresses_are_literals_of_either_family),
                cmocka_unit_test(hostnames_are_lower_case_rfc1123_and_never_addresses),
                cmocka_unit_test(cidrs_say_what_is_wrong),
                cmocka_unit_test(tokens_hashes_and_keys_have_kubeadms_and_openssh_forms),
                cmocka_unit_test(endpoints_need_brackets_around_ipv6),
                cmocka_unit_test(times_are_rfc3339_calendar_dates),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
