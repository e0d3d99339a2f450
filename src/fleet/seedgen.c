/* SPDX-License-Identifier: Apache-2.0 */
/* A run of the fleet tool: plan (placement.c), load or mint the trust
 * (trust.c), stage every seed (seedtext.c, output.c) beside the output,
 * keeping the seeds of unchanged nodes byte for byte, check each with the
 * agent's validation, and swap the staged rollout in (rollout.c). */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "basic/fileio.h"
#include "basic/strv.h"
#include "fleet/output.h"
#include "fleet/rollout.h"
#include "fleet/seedgen.h"
#include "fleet/seedtext.h"
#include "fleet/trust.h"
#include "shared/role.h"

enum seed_change { SEED_NEW, SEED_CHANGED, SEED_UNCHANGED, SEED_RENEWED };
static const char * const change_names[] = { "new", "changed", "unchanged", "renewed" };

struct run {
        const struct seedgen_options *o;
        struct seedgen_plan p;
        struct trust t;
        struct rollout_state old, new;
        enum rollout_dir kind;
        char *staging;
        size_t counts[4];
        bool token_used;        /* some seed written by this run carries its token */
};

/* The three places a node's seed lives in the output (seedgen.h). */
struct seed_paths {
        char *dir, *hdir, *mdir;
};

static void seed_paths_done(struct seed_paths *sp) {
        free(sp->dir);
        free(sp->hdir);
        free(sp->mdir);
}

static int seed_paths(const char *base, const struct seedgen_node *nd, struct seed_paths *ret) {
        if (asprintf(&ret->dir, "%s/seeds/%s", base, nd->hostname) < 0 ||
            asprintf(&ret->hdir, "%s/http/hostname/%s", base, nd->hostname) < 0 ||
            (nd->mac && asprintf(&ret->mdir, "%s/http/mac/%s", base, nd->mac) < 0))
                return -ENOMEM;
        return 0;
}

static bool role_joins(const struct seedgen_plan *p, const struct seedgen_node *nd) {
        const struct role *r = role_catalog_find(p->cat, nd->role);
        return r && STREQ(r->kubernetes, "join");
}

static bool renew_asked(const struct seedgen_options *o, const struct seedgen_node *nd) {
        return strv_contains(o->renew, nd->hostname) || strv_contains(o->renew, nd->host);
}

/* The previous run's files of an unchanged node, linked into the staging
 * tree; -ENOENT when one is missing there (the seed is then written anew). */
static int carry_seed(const struct run *run, const struct seedgen_node *nd) {
        static const char * const files[] = { "meta-data", "user-data", "cidata.iso" };
        struct seed_paths from = {}, to = {};
        int r = seed_paths(run->o->out_dir, nd, &from);
        if (r >= 0)
                r = seed_paths(run->staging, nd, &to);
        const char *pairs[][2] = { { from.dir, to.dir }, { from.hdir, to.hdir }, { from.mdir, to.mdir } };
        for (size_t i = 0; i < ELEMENTSOF(pairs) && r >= 0 && pairs[i][0]; i++) {
                r = mkdir_p(pairs[i][1], 0700);
                for (size_t k = 0; k < ELEMENTSOF(files) && r >= 0; k++) {
                        _cleanup_free_ char *a = NULL, *b = NULL;
                        if (asprintf(&a, "%s/%s", pairs[i][0], files[k]) < 0 || asprintf(&b, "%s/%s", pairs[i][1], files[k]) < 0)
                                r = -ENOMEM;
                        else if (STREQ(files[k], "cidata.iso") && (i > 0 || run->o->no_iso || access(a, F_OK) < 0))
                                continue;       /* made below when missing */
                        else
                                r = link_or_copy(a, b);
                }
        }
        seed_paths_done(&from);
        seed_paths_done(&to);
        return r;
}

static int write_new_seed(struct run *run, const struct seedgen_node *nd, const char *instance_id, struct diag *d) {
        struct seed_paths sp = {};
        _cleanup_free_ char *plain = NULL, *meta = NULL, *user = seed_user_data(run->o, &run->p, &run->t, nd);
        int r = seed_paths(run->staging, nd, &sp);
        if (r >= 0 && (!user || asprintf(&plain, "instance-id: %s\nlocal-hostname: %s\n", instance_id, nd->hostname) < 0))
                r = -ENOMEM;
        if (r >= 0)
                r = trust_sign_seed(&run->t, plain, user, &meta);
        if (r >= 0)
                r = write_seed_dir(sp.dir, meta, user);
        if (r >= 0)
                r = write_seed_dir(sp.hdir, meta, user);
        if (r >= 0 && sp.mdir)
                r = write_seed_dir(sp.mdir, meta, user);
        if (user)
                explicit_bzero(user, strlen(user));
        if (r < 0)
                diag_add(d, run->o->out_dir, 0, 0, "cannot write the seed of %s: %s", nd->hostname, strerror(-r));
        seed_paths_done(&sp);
        return r;
}

/* One node: its seed kept (unchanged digest) or written with a new
 * instance-id, then validated as the agent would, and its ISO made. */
static int stage_node(struct run *run, const struct seedgen_node *nd, enum seed_change *ret, struct diag *d) {
        _cleanup_free_ char *digest = NULL, *iid = NULL, *dir = NULL, *iso = NULL;
        const struct rollout_node *prev = rollout_state_find(&run->old, nd->hostname);
        bool renew = renew_asked(run->o, nd);
        int r = seed_config_digest(run->o, &run->p, &run->t, nd, &digest);
        if (r < 0)
                return r;
        enum seed_change c = !prev ? SEED_NEW : !STREQ(prev->digest, digest) ? SEED_CHANGED : renew ? SEED_RENEWED : SEED_UNCHANGED;
        time_t expires = prev ? prev->token_expires : 0;
        if (c == SEED_UNCHANGED && carry_seed(run, nd) < 0)
                c = SEED_CHANGED;       /* the old files are gone or unreadable */
        if (c == SEED_UNCHANGED)
                iid = strdup(prev->instance_id);
        else if (asprintf(&iid, "%s-%s", nd->hostname, run->t.run) < 0)
                iid = NULL;
        if (!iid || asprintf(&dir, "%s/seeds/%s", run->staging, nd->hostname) < 0 || asprintf(&iso, "%s/cidata.iso", dir) < 0)
                return -ENOMEM;
        if (c != SEED_UNCHANGED) {
                if ((r = write_new_seed(run, nd, iid, d)) < 0)
                        return r;
                bool joins = role_joins(&run->p, nd);
                expires = joins ? run->t.expires : 0;
                run->token_used |= joins;
        }
        r = validate_seed(run->o, dir, d);
        if (r < 0) {
                diag_add(d, dir, 0, 0, "generated seed for host '%s' does not validate (the errors above name the key)", nd->host);
                return r;
        }
        if (!run->o->no_iso && access(iso, F_OK) < 0 && (r = make_iso(dir, d)) < 0)
                return r;
        r = rollout_state_add_node(&run->new, nd->hostname, iid, digest);
        if (r >= 0)
                run->new.nodes[run->new.n_nodes - 1].token_expires = expires;
        *ret = c;
        return r;
}

/* Tokens minted by earlier reruns that have not expired stay registered
 * in the output (their Secret files), as unchanged seeds may carry them. */
static int carry_tokens(struct run *run) {
        time_t now = time(NULL);
        int r = 0;
        for (size_t i = 0; i < run->old.n_tokens && r >= 0; i++) {
                const struct rollout_token *tk = &run->old.tokens[i];
                _cleanup_free_ char *a = NULL, *b = NULL;
                if (tk->expires <= now)
                        continue;
                if (asprintf(&a, "%s/tokens/bootstrap-token-%s.yaml", run->o->out_dir, tk->id) < 0 ||
                    asprintf(&b, "%s/tokens/bootstrap-token-%s.yaml", run->staging, tk->id) < 0)
                        return -ENOMEM;
                if (access(a, F_OK) < 0)
                        continue;
                r = link_or_copy(a, b);
                if (r >= 0)
                        r = rollout_state_add_token(&run->new, tk->id, tk->expires);
        }
        return r;
}

/* A rerun's token is unknown to the running cluster (kubeadm init only
 * created the first one, from the master's seed): its Secret is written for
 * the operator to apply before the new nodes boot. */
static int write_token_secret(struct run *run, char **ret_path) {
        _cleanup_free_ char *text = NULL, *id = trust_token_id(&run->t), *path = NULL, *dir = NULL;
        int r = trust_token_secret(&run->t, &text);
        if (r < 0 || !id)
                return r < 0 ? r : -ENOMEM;
        if (asprintf(&dir, "%s/tokens", run->staging) < 0 || asprintf(&path, "%s/bootstrap-token-%s.yaml", dir, id) < 0)
                return -ENOMEM;
        r = mkdir_p(dir, 0700);
        if (r >= 0)
                r = write_file_atomic("/", path, text, strlen(text), 0600, -1, -1, NULL);
        explicit_bzero(text, strlen(text));
        if (r >= 0)
                r = rollout_state_add_token(&run->new, id, run->t.expires);
        if (r >= 0 && asprintf(ret_path, "%s/tokens/bootstrap-token-%s.yaml", run->o->out_dir, id) < 0)
                r = -ENOMEM;
        return r;
}

/* The previous output's state. Outputs of versions that kept none give
 * their rollout id in nodes.tsv's first line; their seeds are all written
 * anew. */
static int load_previous(struct run *run, struct diag *d) {
        int r = rollout_state_read(run->o->out_dir, &run->old, d);
        if (r != -ENOENT)
                return r;
        _cleanup_free_ char *path = NULL, *text = NULL;
        char id[64];
        if (asprintf(&path, "%s/nodes.tsv", run->o->out_dir) < 0)
                return -ENOMEM;
        if (read_full_file(path, &text, NULL) >= 0 && sscanf(text, "# nodeos-seedgen rollout %63[0-9a-f],", id) == 1)
                return (run->old.rollout = strdup(id)) ? 0 : -ENOMEM;
        diag_add(d, path, 1, 1, "no rollout id here; is this a nodeos-seedgen output?");
        return -EINVAL;
}

static void print_header(const struct run *run, int wh, int wn) {
        printf("rollout %s (%s), run %s: topology %s, variant %s, token expires %s", run->t.rollout,
               run->kind == ROLLOUT_DIR_OURS && !run->o->new_rollout ? "updated" : "new", run->t.run, run->p.topology,
               run->p.variant, ctime(&run->t.expires));
        printf("%-*s  %-*s  %-15s  %-6s  %-17s  %-9s  %s\n", wh, "HOST", wn, "HOSTNAME", "ADDRESS", "ROLE", "MAC", "SEED", "DIR");
}

static int stage_all(struct run *run, struct diag *d) {
        int wh = 8, wn = 8, r = 0;
        for (size_t i = 0; i < run->p.n; i++) {
                int lh = (int) strlen(run->p.nodes[i].host), ln = (int) strlen(run->p.nodes[i].hostname);
                wh = lh > wh ? lh : wh;
                wn = ln > wn ? ln : wn;
        }
        print_header(run, wh, wn);
        for (size_t i = 0; i < run->p.n && r >= 0; i++) {
                const struct seedgen_node *nd = &run->p.nodes[i];
                enum seed_change c;
                r = stage_node(run, nd, &c, d);
                if (r < 0)
                        break;
                run->counts[c]++;
                printf("%-*s  %-*s  %-15s  %-6s  %-17s  %-9s  %s/seeds/%s\n", wh, nd->host, wn, nd->hostname, nd->address, nd->role,
                       nd->mac ? nd->mac : "-", change_names[c], run->o->out_dir, nd->hostname);
        }
        return r;
}

static bool in_plan(const struct seedgen_plan *p, const char *hostname) {
        for (size_t i = 0; i < p->n; i++)
                if (STREQ(p->nodes[i].hostname, hostname))
                        return true;
        return false;
}

/* What the operator still has to do, after the swap. */
static void print_after(const struct run *run, const char *secret_path) {
        size_t removed = 0;
        for (size_t i = 0; i < run->old.n_nodes; i++)
                removed += !in_plan(&run->p, run->old.nodes[i].hostname);
        printf("seeds: %zu new, %zu changed, %zu renewed, %zu unchanged, %zu removed\n", run->counts[SEED_NEW],
               run->counts[SEED_CHANGED], run->counts[SEED_RENEWED], run->counts[SEED_UNCHANGED], removed);
        if (secret_path)
                printf("before the new seeds boot, register their bootstrap token with the running cluster:\n"
                       "  kubectl apply -f %s\n", secret_path);
        for (size_t i = 0; i < run->old.n_nodes; i++) {
                const char *h = run->old.nodes[i].hostname;
                if (in_plan(&run->p, h))
                        continue;
                printf("%s left the inventory; its seed is gone. In the cluster (on the master):\n"
                       "  kubectl drain %s --ignore-daemonsets --delete-local-data\n"
                       "  kubectl delete node %s\n", h, h, h);
        }
        time_t now = time(NULL);
        for (size_t i = 0; i < run->new.n_nodes; i++) {
                const struct rollout_node *n = &run->new.nodes[i];
                if (n->token_expires > 0 && n->token_expires <= now)
                        printf("note: the token in %s's seed has expired; if that node has not joined yet, give it a new seed: "
                               "--renew %s\n", n->hostname, n->hostname);
        }
}

/* --renew names hosts of the inventory; a typo must not pass silently. */
static int check_renew(const struct seedgen_options *o, const struct seedgen_plan *p, struct diag *d) {
        int r = 0;
        STRV_FOREACH(h, o->renew) {
                bool found = false;
                for (size_t i = 0; i < p->n; i++)
                        found |= STREQ(p->nodes[i].host, *h) || STREQ(p->nodes[i].hostname, *h);
                if (!found) {
                        diag_add(d, o->inventory_dir, 0, 0, "--renew %s: no such host in the inventory", *h);
                        r = -EINVAL;
                }
        }
        return r;
}

static int refuse_foreign(const struct seedgen_options *o, struct diag *d) {
        diag_add(d, o->out_dir, 0, 0, "not empty and not a nodeos-seedgen output (no nodes.tsv); choose an empty directory");
        return -EEXIST;
}

int seedgen_run(const struct seedgen_options *o, struct diag *d) {
        struct run run = { .o = o };
        _cleanup_free_ char *secret_path = NULL;
        bool update;
        int r = seedgen_plan_load(o, &run.p, d);
        if (r >= 0)
                r = check_renew(o, &run.p, d);
        if (r < 0)
                goto out;
        r = rollout_dir_inspect(o->out_dir, &run.kind);
        if (r < 0) {
                diag_add(d, o->out_dir, 0, 0, "cannot read: %s", strerror(-r));
                goto out;
        }
        if (run.kind == ROLLOUT_DIR_FOREIGN) {
                r = refuse_foreign(o, d);
                goto out;
        }
        if (run.kind == ROLLOUT_DIR_OURS && (r = load_previous(&run, d)) < 0)
                goto out;
        update = run.kind == ROLLOUT_DIR_OURS && !o->new_rollout;
        if (!update)
                rollout_state_done(&run.old);   /* a new rollout keeps nothing but the retired copy */
        r = trust_load(o, update ? o->out_dir : NULL, update ? run.old.rollout : NULL, &run.t, d);
        if (r < 0)
                goto out;
        run.new.rollout = strdup(run.t.rollout);
        if (!run.new.rollout) {
                r = -ENOMEM;
                goto out;
        }
        r = rollout_stage_begin(o->out_dir, &run.staging);
        if (r < 0) {
                diag_add(d, o->out_dir, 0, 0, "cannot make a staging directory beside it: %s", strerror(-r));
                goto out;
        }
        r = stage_all(&run, d);
        if (r >= 0)
                r = carry_tokens(&run);
        if (r >= 0 && update && run.token_used)
                r = write_token_secret(&run, &secret_path);
        if (r >= 0 && (r = write_manifest(run.staging, &run.p, &run.t, update ? o->out_dir : NULL)) < 0)
                diag_add(d, o->out_dir, 0, 0, "cannot write nodes.tsv and the CA: %s", strerror(-r));
        if (r >= 0 && (r = rollout_state_write(run.staging, &run.new)) < 0)
                diag_add(d, o->out_dir, 0, 0, "cannot write rollout.tsv: %s", strerror(-r));
        if (r >= 0) {
                _cleanup_free_ char *retire = NULL;
                if (run.kind == ROLLOUT_DIR_OURS && o->new_rollout) {
                        /* the retired rollout's id, for its directory name */
                        struct rollout_state prev = {};
                        struct diag ignored = {};
                        if (rollout_state_read(o->out_dir, &prev, &ignored) >= 0)
                                retire = TAKE_PTR(prev.rollout);
                        rollout_state_done(&prev);
                        diag_done(&ignored);
                        if (!retire && asprintf(&retire, "unknown-%lld", (long long) time(NULL)) < 0)
                                r = -ENOMEM;
                }
                if (r >= 0)
                        r = rollout_stage_commit(o->out_dir, run.staging, retire, d);
                if (r >= 0) {
                        free(run.staging);
                        run.staging = NULL;
                        if (retire)
                                printf("the previous rollout is kept in %s/retired/%s/ (its CA key too)\n", o->out_dir, retire);
                }
        }
        if (r >= 0)
                print_after(&run, secret_path);
        else if (run.staging)
                printf("nothing changed in %s\n", o->out_dir);
out:
        /* nothing half-done: a failed run's seeds (they hold the token) go */
        rollout_stage_abort(run.staging);
        free(run.staging);
        rollout_state_done(&run.old);
        rollout_state_done(&run.new);
        trust_done(&run.t);
        seedgen_plan_done(&run.p);
        return r;
}
