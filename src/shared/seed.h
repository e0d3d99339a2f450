/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* A NoCloud seed as its two files' contents, whatever delivered it (a
 * directory, a cidata drive, a URL), and the one validation path both
 * programs share: the agent before it applies a seed, the fleet tool on
 * every seed it writes. */

#include <stdbool.h>
#include <stddef.h>

/* How the seed's files are written: cloud-init's NoCloud (meta-data,
 * user-data, network-config) or OpenStack's config drive (label config-2:
 * openstack/latest/meta_data.json, user_data, network_data.json). */
enum seed_format { SEED_NOCLOUD, SEED_CONFIG_DRIVE };

struct seed {
        enum seed_format format;
        char *source;           /* "seed-dir:/var/lib/...", "cidata:/dev/vdb", "url:http://...", "config-2:/dev/vdb" */
        char *meta_data;        /* contents, NUL-terminated */
        size_t meta_len;
        char *user_data;
        size_t user_len;
        char *meta_name;        /* names for messages: "<source>/meta-data" */
        char *user_name;
        /* The optional files of a NoCloud directory or cidata drive, as
         * cloud-localds writes them (names NULL: absent). network-config
         * is parsed by seed_load_config() when it says something; a
         * vendor-data that says something is refused there. */
        char *vendor_name, *network_name;
        bool vendor_data_says_something, network_config_says_something;
        char *network_config;   /* contents, NUL-terminated, when present */
        size_t network_len;
};

void seed_done(struct seed *s);

/* Whether TEXT holds anything but blank lines and comments (an empty
 * vendor-data, or one that is just "#cloud-config", says nothing). */
bool seed_file_says_something(const char *text);

/* Reads DIR/meta-data and DIR/user-data. meta-data is required (-ENOENT:
 * no seed here); a missing user-data is -EBADMSG, logged. SOURCE is kept
 * as s->source, SHOWN prefixes the file names in messages. */
int seed_read_files(const char *dir, const char *source, const char *shown, struct seed *ret);
/* Reads a config drive's tree at DIR: openstack/latest/meta_data.json is
 * required (-ENOENT: no config drive here), its user_data too (-EBADMSG,
 * logged); network_data.json is the network-config; vendor_data.json and
 * vendor_data2.json are vendor-data. */
int seed_read_config_drive(const char *dir, const char *source, const char *shown, struct seed *ret);
/* A seed from a local directory (validate/plan SEED_DIR, the fleet tool's
 * output), NoCloud or, when DIR has no meta-data but an
 * openstack/latest/meta_data.json, a config drive's tree: source
 * "seed-dir:DIR". */
int seed_read_dir(const char *dir, struct seed *ret);

struct role_catalog;
struct node_config;
struct diag;

/* Loads the role catalog and parses + validates the seed against it; a
 * signed seed's signature must verify with the key it names (whether that
 * key is one the node trusts is the agent's question, seedtrust.h).
 * Problems go to d; returns 0, -EINVAL (d has them) or another -errno. */
int seed_load_config(const char *roles_dir, const struct seed *seed,
                     struct role_catalog **ret_catalog, struct node_config **ret_config, struct diag *d);

/* What a seed's signature covers: its meta-data without the
 * nodeos-seed-signature line, "\n--\n", its user-data. New buffer in *ret
 * (NUL-terminated, *ret_len without the NUL); -ENOMEM. */
int seed_signed_message(const char *meta, size_t meta_len, const char *user, size_t user_len, char **ret, size_t *ret_len);
/* The meta-data line that carries SIG: "nodeos-seed-signature: SIG". */
#define SEED_SIGNATURE_KEY "nodeos-seed-signature"

struct base_packages;

/* Renders, in memory, everything a run would render from this seed: each
 * file the role declares for it (the lb's haproxy.cfg or nginx.conf, the
 * kubeadm configs, daemon.json, ...) and the role's cluster manifests, so
 * that an error a run could hit because of the seed's values is found
 * before anything is applied. Problems go to d, naming the seed; each
 * cause once. packages: the image's base packages (NULL: none known).
 * 0, -EINVAL (d has them) or -ENOMEM. */
int seed_render_check(const struct role_catalog *cat, const struct node_config *cfg, const struct base_packages *packages,
                      struct diag *d);
