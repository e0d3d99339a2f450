/* SPDX-License-Identifier: Apache-2.0 */
/* nodeos-seedgen: per-node NoCloud seeds from an ansible-dojot inventory. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "basic/diag.h"
#include "basic/strv.h"
#include "fleet/seedgen.h"

static void usage(FILE *f) {
        fputs("Usage: nodeos-seedgen [OPTIONS] INVENTORY_DIR OUT_DIR\n"
              "\n"
              "Reads an ansible-dojot inventory (INVENTORY_DIR/hosts.yaml and\n"
              "INVENTORY_DIR/group_vars/all/dojot.yaml), decides each host's role, mints\n"
              "the cluster CA and a bootstrap token, and writes per node:\n"
              "  OUT_DIR/seeds/<hostname>/{meta-data,user-data,cidata.iso}\n"
              "  OUT_DIR/http/hostname/<hostname>/ and OUT_DIR/http/mac/<mac>/ (for ds=nocloud;s=)\n"
              "and OUT_DIR/nodes.tsv (no secrets; image/make-pxe reads it), OUT_DIR/ca.crt,\n"
              "OUT_DIR/ca.key, OUT_DIR/rollout.tsv (the rollout's state, no secrets). Seeds\n"
              "and the key are 0600: they carry the token (and, for the master, the CA key).\n"
              "\n"
              "A rerun into the same OUT_DIR updates that rollout: it keeps its CA and the\n"
              "seeds (instance-ids included) of every node whose configuration did not\n"
              "change, writes seeds for new and changed nodes with a new token, writes\n"
              "that token as OUT_DIR/tokens/bootstrap-token-<id>.yaml for `kubectl apply`,\n"
              "and says which seeds changed and what to do for hosts that left the\n"
              "inventory. Everything is staged beside OUT_DIR and swapped in only when\n"
              "every seed validated: a failed run changes nothing.\n"
              "\n"
              "Roles: master_nodes -> master; host 'haproxy'/'nginx' (or groups of those\n"
              "names) -> lb in that mode; worker_nodes -> the dojot_role (or\n"
              "dojot.components/group) host variable, else dojot when there is a single\n"
              "worker (few devices), else verne when in mqtt_nodes, else the role word in\n"
              "the host name (dojot, kafka, x509, verne).\n"
              "Host variables read: ansible_host, dojot_role, dojot.components/group,\n"
              "nodeos_hostname, and the MAC for PXE from nodeos_mac, mac or\n"
              "ansible_default_ipv4.macaddress (first set wins; written as 52-54-00-12-34-56),\n"
              "and nodeos_data_disk, a PXE node's state disk (nodes.tsv; make-pxe boots it with\n"
              "nodeos.data=).\n"
              "\n"
              "Options:\n"
              "  --token-ttl TTL      bootstrap token lifetime: hours, or N with s/m/h/d (default 24h)\n"
              "  --prefix N           network prefix of the node addresses (default 24)\n"
              "  --gateway IP         default gateway for the nodes\n"
              "  --topology T         100k | few-devices (default: few-devices with one worker)\n"
              "  --variant V          vernemq | 100k | mosca | vernemq+lwm2m | mosca+lwm2m\n"
              "  --ca-cert F --ca-key F  a new rollout with this CA instead of a minted one\n"
              "                       (on an existing rollout: must be its CA)\n"
              "  --renew HOST         write HOST's seed anew (new token, new instance-id) even\n"
              "                       if unchanged, e.g. when its token expired before it joined\n"
              "  --kured              the master deploys kured, which reboots nodes with a\n"
              "                       staged update one at a time (cluster.kured)\n"
              "  --new-rollout        OUT_DIR holds a rollout: start a new one (new CA, new\n"
              "                       cluster); the old one is kept in OUT_DIR/retired/<id>/\n"
              "  --roles-dir DIR      role catalog used to map and validate (default roles/)\n"
              "  --no-iso             do not build cidata ISOs (xorriso, else genisoimage)\n"
              "  -h, --help\n"
              "\n"
              "Exit status: 0, 1 when the inventory cannot be mapped (one error per problem,\n"
              "naming the host and the key), 2 for a usage error.\n", f);
}

int main(int argc, char **argv) {
        enum { O_TTL = 256, O_PREFIX, O_GW, O_TOPO, O_VAR, O_CERT, O_KEY, O_ROLES, O_NOISO, O_RENEW, O_NEW, O_KURED };
        static const struct option opts[] = {
                { "token-ttl", required_argument, NULL, O_TTL }, { "prefix", required_argument, NULL, O_PREFIX },
                { "gateway", required_argument, NULL, O_GW }, { "topology", required_argument, NULL, O_TOPO },
                { "variant", required_argument, NULL, O_VAR }, { "ca-cert", required_argument, NULL, O_CERT },
                { "ca-key", required_argument, NULL, O_KEY }, { "roles-dir", required_argument, NULL, O_ROLES },
                { "no-iso", no_argument, NULL, O_NOISO }, { "renew", required_argument, NULL, O_RENEW },
                { "new-rollout", no_argument, NULL, O_NEW }, { "kured", no_argument, NULL, O_KURED }, { "help", no_argument, NULL, 'h' }, {}
        };
        struct seedgen_options o = { .roles_dir = "roles", .token_ttl_s = 24 * 3600, .prefix = 24 };
        _cleanup_strv_free_ char **renew = NULL;
        int c;
        while ((c = getopt_long(argc, argv, "h", opts, NULL)) >= 0)
                switch (c) {
                case O_TTL:
                        if (seedgen_parse_ttl(optarg, &o.token_ttl_s) < 0) {
                                fprintf(stderr, "nodeos-seedgen: --token-ttl '%s': want hours, or a number with s, m, h or d (at most ten years)\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case O_PREFIX:
                        o.prefix = atoi(optarg);
                        if (o.prefix < 1 || o.prefix > 128 || strspn(optarg, "0123456789") != strlen(optarg)) {
                                fprintf(stderr, "nodeos-seedgen: --prefix '%s': want a prefix length (1-128)\n", optarg);
                                return 2;
                        }
                        break;
                case O_GW: o.gateway = optarg; break;
                case O_TOPO: o.topology = optarg; break;
                case O_VAR: o.variant = optarg; break;
                case O_CERT: o.ca_cert_file = optarg; break;
                case O_KEY: o.ca_key_file = optarg; break;
                case O_ROLES: o.roles_dir = optarg; break;
                case O_NOISO: o.no_iso = 1; break;
                case O_RENEW:
                        if (strv_extend(&renew, optarg) < 0)
                                return 1;
                        break;
                case O_NEW: o.new_rollout = true; break;
                case O_KURED: o.kured = true; break;
                case 'h': usage(stdout); return 0;
                default: usage(stderr); return 2;
                }
        if (argc - optind != 2 || o.token_ttl_s <= 0 || (!o.ca_cert_file != !o.ca_key_file)) {
                usage(stderr);
                return 2;
        }
        o.renew = renew;
        o.inventory_dir = argv[optind];
        o.out_dir = argv[optind + 1];
        umask(077);
        struct diag d = {};
        int r = seedgen_run(&o, &d);
        diag_print(&d, stderr);
        diag_done(&d);
        return r < 0 ? 1 : 0;
}
