/* SPDX-License-Identifier: Apache-2.0 */
/* network-config (netconfig.c): what each accepted form becomes in the
 * networkd files, and the one line each refused form gets. The whole-seed
 * path (cloud-localds media, the agent under --root, golden files) is
 * tests/integration/network-config.sh. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "basic/diag.h"
#include "basic/strv.h"
#include "shared/netconfig.h"

static struct net_plan *parse_ok(const char *text) {
        struct diag d = {};
        struct net_plan *p = NULL;
        int r = netconfig_parse(text, strlen(text), "network-config", &p, &d);
        STRV_FOREACH(l, d.lines)
                print_message("#   %s\n", *l);
        assert_int_equal(r, 0);
        assert_int_equal(diag_count(&d), 0);
        diag_done(&d);
        return p;
}

static void assert_has(const char *text, const char *line) {
        if (!strstr(text, line))
                print_message("#   '%s' not in:\n%s\n", line, text);
        assert_non_null(strstr(text, line));
}

static void version_2_by_mac_renames_and_routes(void **state) {
        (void) state;
        _cleanup_net_plan_ struct net_plan *p = parse_ok(
                "network:\n"
                "  version: 2\n"
                "  renderer: networkd\n"
                "  ethernets:\n"
                "    id0:\n"
                "      match: {macaddress: '52:54:00:AA:BB:CC'}\n"
                "      set-name: lan0\n"
                "      addresses: [192.168.0.14/24]\n"
                "      gateway4: 192.168.0.1\n"
                "      routes: [{to: '10.0.0.0/8', via: 192.168.0.254, metric: 50}]\n"
                "      nameservers: {addresses: [192.168.0.53], search: [Dojot.Local]}\n");
        assert_int_equal(p->version, 2);
        assert_int_equal(p->n_links, 1);
        _cleanup_free_ char *net = netconfig_render_network(p, &p->links[0]);
        _cleanup_free_ char *link = NULL;
        assert_int_equal(netconfig_render_link(p, &p->links[0], &link), 0);
        assert_has(net, "[Match]\nMACAddress=52:54:00:aa:bb:cc\n\n[Network]\n");
        assert_null(strstr(net, "Name="));     /* found by MAC before and after the rename */
        assert_has(net, "Address=192.168.0.14/24\n");
        assert_has(net, "IPv6AcceptRA=no\n");
        assert_has(net, "[Route]\nGateway=192.168.0.1\n");
        assert_has(net, "[Route]\nDestination=10.0.0.0/8\nGateway=192.168.0.254\nMetric=50\n");
        assert_has(net, "DNS=192.168.0.53\nDomains=Dojot.Local\n");
        assert_has(link, "[Match]\nMACAddress=52:54:00:aa:bb:cc\n\n[Link]\nName=lan0\n");
        assert_string_equal(p->links[0].file_stem, "10-nodeos-id0");
}

static void version_2_by_name_matches_both_names(void **state) {
        (void) state;
        _cleanup_net_plan_ struct net_plan *p = parse_ok(
                "version: 2\n"
                "ethernets:\n"
                "  nic:\n"
                "    match: {name: 'ens*'}\n"
                "    set-name: lan0\n"
                "    dhcp4: true\n"
                "    dhcp6: yes\n"
                "    mtu: 9000\n"
                "  eth1: {dhcp6: true}\n");
        _cleanup_free_ char *a = netconfig_render_network(p, &p->links[0]);
        _cleanup_free_ char *b = netconfig_render_network(p, &p->links[1]);
        _cleanup_free_ char *link = NULL;
        assert_int_equal(netconfig_render_link(p, &p->links[0], &link), 0);
        assert_has(a, "Name=ens* lan0\n");
        assert_has(a, "[Link]\nMTUBytes=9000\n");
        assert_has(a, "DHCP=yes\n");
        assert_null(strstr(a, "IPv6AcceptRA"));         /* DHCPv6 comes with router advertisements */
        assert_has(link, "OriginalName=ens*\n");
        assert_has(b, "Name=eth1\n");
        assert_has(b, "DHCP=ipv6\n");
        free(link);
        assert_int_equal(netconfig_render_link(p, &p->links[1], &link), 0);
        assert_null(link);                              /* no rename, no .link file */
}

static void version_1_netmasks_nameservers_and_global_routes(void **state) {
        (void) state;
        _cleanup_net_plan_ struct net_plan *p = parse_ok(
                "version: 1\n"
                "config:\n"
                "  - type: route\n"           /* before the interface it needs: order does not matter */
                "    destination: 172.16.0.0/12\n"
                "    gateway: 10.1.0.1\n"
                "  - type: physical\n"
                "    name: eth0\n"
                "    mac_address: '52:54:00:00:00:01'\n"
                "    subnets:\n"
                "      - type: static\n"
                "        address: 10.1.0.5\n"
                "        netmask: 255.255.0.0\n"
                "        gateway: 10.1.0.1\n"
                "        routes: [{network: 10.9.0.0, prefix: 16, gateway: 10.1.0.254, metric: 3}]\n"
                "      - type: static6\n"
                "        address: 'fd00::5/64'\n"
                "  - type: physical\n"
                "    name: eth1\n"
                "    subnets: [{type: dhcp}]\n"
                "  - type: nameserver\n"
                "    address: 10.1.0.53\n"
                "    search: dojot.local\n");
        assert_int_equal(p->n_links, 2);
        _cleanup_free_ char *a = netconfig_render_network(p, &p->links[0]);
        _cleanup_free_ char *b = netconfig_render_network(p, &p->links[1]);
        _cleanup_free_ char *link = NULL;
        assert_int_equal(netconfig_render_link(p, &p->links[0], &link), 0);
        assert_has(a, "MACAddress=52:54:00:00:00:01\n");
        assert_has(a, "Address=10.1.0.5/16\nAddress=fd00::5/64\n");
        assert_has(a, "[Route]\nGateway=10.1.0.1\n");
        assert_has(a, "[Route]\nDestination=10.9.0.0/16\nGateway=10.1.0.254\nMetric=3\n");
        assert_has(a, "[Route]\nDestination=172.16.0.0/12\nGateway=10.1.0.1\n");
        assert_has(a, "DNS=10.1.0.53\nDomains=dojot.local\n");
        assert_has(link, "Name=eth0\n");
        assert_has(b, "Name=eth1\n");
        assert_has(b, "DHCP=ipv4\n");
        assert_has(b, "DNS=10.1.0.53\n");            /* one resolver for the node */
}

/* Each refused form and its one line (the position is the offending node). */
static void refused_forms_name_their_line_and_column(void **state) {
        (void) state;
        static const struct { const char *text, *line; } cases[] = {
                { "version: 2\nwifis:\n  wlan0: {}\n",
                  "network-config:2:1: wifis: not supported: the agent configures ethernets only" },
                { "version: 2\nethernets:\n  eth0:\n    addresses: [192.168.0.14/33]\n",
                  "network-config:4:17: ethernets.eth0.addresses[0]: '192.168.0.14/33' is not a valid CIDR (prefix must be 0..32)" },
                { "version: 2\nethernets:\n  eth0:\n    dhcp: true\n",
                  "network-config:4:5: unknown key 'dhcp' in ethernets.eth0" },
                { "version: 2\nrenderer: NetworkManager\n",
                  "network-config:2:11: renderer: 'NetworkManager' is not supported: the image's network stack is systemd-networkd" },
                { "version: 2\nethernets:\n  eth0:\n    set-name: lan0\n",
                  "network-config:4:15: ethernets.eth0: set-name needs a match" },
                { "version: 2\nethernets:\n  x:\n    match: {macaddress: '52:54:00:zz:00:01'}\n",
                  "network-config:4:25: ethernets.x.match.macaddress: '52:54:00:zz:00:01' is not a MAC address (aa:bb:cc:dd:ee:ff)" },
                { "version: 2\nethernets:\n  eth0:\n    gateway4: 'fd00::1'\n",
                  "network-config:4:15: ethernets.eth0.gateway4: 'fd00::1' is not an IPv4 address" },
                { "version: 2\nethernets:\n  eth0:\n    routes: [{to: 10.0.0.0/8}]\n",
                  "network-config:4:14: ethernets.eth0.routes[0]: missing required key 'via'" },
                { "version: 2\nethernets:\n  eth0:\n    mtu: 20\n",
                  "network-config:4:10: ethernets.eth0.mtu:" },
                { "version: 3\n",
                  "network-config:1:10: version: expected 1 or 2, got '3'" },
                { "ethernets: {}\n",
                  "network-config:1:1: network-config: missing required key 'version'" },
                { "version: 1\nconfig:\n  - type: bond\n    name: bond0\n",
                  "network-config:3:11: config[0].type: 'bond' is not supported" },
                { "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets: [{type: static, address: 10.0.0.5, netmask: 255.0.255.0}]\n",
                  "config[0].subnets[0].netmask: '255.0.255.0' is not an IPv4 netmask" },
                { "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    subnets: [{type: dhcp, address: 10.0.0.5/8}]\n",
                  "config[0].subnets[0].address: only a static subnet has one" },
                { "version: 1\nconfig:\n  - type: route\n    destination: 0.0.0.0/0\n    gateway: 10.0.0.1\n",
                  "network-config:3:5: config[0]: no interface has a static subnet that holds the gateway 10.0.0.1" },
                { "version: 1\nconfig:\n  - type: physical\n    name: eth0\n    wake_on_lan: true\n",
                  "network-config:5:5: unknown key 'wake_on_lan' in config[0]" },
                { "version: 2\nethernets:\n  'a/b': {}\n",
                  "network-config:3:3: ethernets.a/b: without match, the key is the interface name, and 'a/b' is not one" },
                { "version: 2\nethernets:\n  'a b':\n    match: {name: x}\n  'a_b':\n    match: {name: y}\n",
                  "network-config:5:3: 'a b' and 'a_b' would share the networkd file 10-nodeos-a_b.network: rename one" },
                { "version: 2\nethernets: [eth0]\n",
                  "network-config:2:12: ethernets: expected a mapping" },
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct diag d = {};
                struct net_plan *p = NULL;
                int r = netconfig_parse(cases[i].text, strlen(cases[i].text), "network-config", &p, &d);
                bool found = false;
                STRV_FOREACH(l, d.lines)
                        found = found || strstr(*l, cases[i].line) != NULL;
                if (r != -EINVAL || !found) {
                        print_message("# case %zu: r=%d, wanted '%s', got:\n", i, r, cases[i].line);
                        STRV_FOREACH(l, d.lines)
                                print_message("#   %s\n", *l);
                }
                assert_int_equal(r, -EINVAL);
                assert_null(p);
                assert_true(found);
                diag_done(&d);
        }
}

/* A wifi is refused by what it is, not as a stray key. */
static void unsupported_devices_say_what_the_agent_configures(void **state) {
        (void) state;
        const char *text = "version: 2\nwifis:\n  wlan0: {}\nbonds:\n  bond0: {}\n";
        struct diag d = {};
        struct net_plan *p = NULL;
        assert_int_equal(netconfig_parse(text, strlen(text), "nc", &p, &d), -EINVAL);
        assert_true(strv_contains(d.lines, "nc:2:1: wifis: not supported: the agent configures ethernets only (cloud-init/README.md, network-config)"));
        assert_true(strv_contains(d.lines, "nc:4:1: bonds: not supported: the agent configures ethernets only (cloud-init/README.md, network-config)"));
        assert_int_equal(diag_count(&d), 2);
        diag_done(&d);
}

/* An OpenStack config drive's network_data.json (JSON, read by the same
 * YAML reader, so errors have lines and columns too). */
static void openstack_network_data_by_mac_with_ipv6_mask(void **state) {
        (void) state;
        const char *text =
                "{\"links\": [{\"id\": \"tap0\", \"type\": \"phy\", \"ethernet_mac_address\": \"FA:16:3E:00:00:01\", \"mtu\": null},\n"
                "            {\"id\": \"tap1\", \"type\": \"vif\", \"ethernet_mac_address\": \"fa:16:3e:00:00:02\"}],\n"
                " \"networks\": [{\"id\": \"n0\", \"type\": \"ipv6\", \"link\": \"tap0\", \"ip_address\": \"fd00::5\",\n"
                "                \"netmask\": \"ffff:ffff:ffff:ffff::\",\n"
                "                \"routes\": [{\"network\": \"::\", \"netmask\": \"::\", \"gateway\": \"fd00::1\"}]},\n"
                "              {\"id\": \"n1\", \"type\": \"ipv4_dhcp\", \"link\": \"tap1\"}],\n"
                " \"services\": [{\"type\": \"dns\", \"address\": \"fd00::53\"}]}\n";
        struct diag d = {};
        struct net_plan *p = NULL;
        assert_int_equal(netconfig_parse_openstack(text, strlen(text), "network_data.json", &p, &d), 0);
        assert_int_equal(p->n_links, 2);
        _cleanup_free_ char *a = netconfig_render_network(p, &p->links[0]);
        _cleanup_free_ char *b = netconfig_render_network(p, &p->links[1]);
        assert_has(a, "MACAddress=fa:16:3e:00:00:01\n");
        assert_has(a, "Address=fd00::5/64\n");
        assert_has(a, "[Route]\nGateway=fd00::1\n");
        assert_has(a, "DNS=fd00::53\n");
        assert_has(b, "DHCP=ipv4\n");
        assert_has(b, "DNS=fd00::53\n");
        net_plan_free(p);
        diag_done(&d);

        const char *bad = "{\"links\": [], \"networks\": [{\"type\": \"ipv6_slaac\", \"link\": \"x\"},\n"
                          "  {\"type\": \"ipv4\", \"link\": \"nope\"}]}\n";
        p = NULL;
        assert_int_equal(netconfig_parse_openstack(bad, strlen(bad), "nd", &p, &d), -EINVAL);
        assert_null(p);
        STRV_FOREACH(l, d.lines)
                print_message("#   %s\n", *l);
        assert_true(strv_contains(d.lines, "nd:1:59: networks[0].link: no link 'x' in links"));
        assert_true(strv_contains(d.lines, "nd:2:28: networks[1].link: no link 'nope' in links"));
        diag_done(&d);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(version_2_by_mac_renames_and_routes),
                cmocka_unit_test(version_2_by_name_matches_both_names),
                cmocka_unit_test(version_1_netmasks_nameservers_and_global_routes),
                cmocka_unit_test(refused_forms_name_their_line_and_column),
                cmocka_unit_test(unsupported_devices_say_what_the_agent_configures),
                cmocka_unit_test(openstack_network_data_by_mac_with_ipv6_mask),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
