/* SPDX-License-Identifier: Apache-2.0 */
/* The rollout directory as state: rollout.tsv, and the staged swap that
 * makes a rerun all or nothing (rollout.h). */
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "basic/fileio.h"
#include "basic/macro.h"
#include "basic/strv.h"
#include "fleet/rollout.h"

#define STATE_FILE "rollout.tsv"

/* What the tool writes into OUT_DIR; everything else there is the
 * operator's and is carried over untouched. */
static const char * const ours[] = { "seeds", "http", "tokens", "retired", "nodes.tsv", "rollout.tsv", "ca.crt", "ca.key",
                                     "seed-signing.key", "seed-signing.pub" };

static bool is_ours(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(ours); i++)
                if (STREQ(name, ours[i]))
                        return true;
        return false;
}

void rollout_state_done(struct rollout_state *s) {
        for (size_t i = 0; i < s->n_nodes; i++) {
                free(s->nodes[i].hostname);
                free(s->nodes[i].instance_id);
                free(s->nodes[i].digest);
        }
        for (size_t i = 0; i < s->n_tokens; i++)
                free(s->tokens[i].id);
        free(s->nodes);
        free(s->tokens);
        free(s->rollout);
        *s = (struct rollout_state) {};
}

const struct rollout_node *rollout_state_find(const struct rollout_state *s, const char *hostname) {
        for (size_t i = 0; i < s->n_nodes; i++)
                if (STREQ(s->nodes[i].hostname, hostname))
                        return &s->nodes[i];
        return NULL;
}

int rollout_state_add_node(struct rollout_state *s, const char *hostname, const char *instance_id, const char *digest) {
        if (!GROW(s->nodes, s->n_nodes))
                return -ENOMEM;
        struct rollout_node *n = &s->nodes[s->n_nodes];
        n->hostname = strdup(hostname);
        n->instance_id = strdup(instance_id);
        n->digest = strdup(digest);
        s->n_nodes++;
        return n->hostname && n->instance_id && n->digest ? 0 : -ENOMEM;
}

int rollout_state_add_token(struct rollout_state *s, const char *id, time_t expires) {
        if (!GROW(s->tokens, s->n_tokens))
                return -ENOMEM;
        s->tokens[s->n_tokens] = (struct rollout_token) { .id = strdup(id), .expires = expires };
        return s->tokens[s->n_tokens++].id ? 0 : -ENOMEM;
}

/* A field of rollout.tsv: no tabs, no newlines, not empty. */
static bool field_ok(const char *s) {
        return s && *s && !strpbrk(s, "\t\n");
}

static bool parse_epoch(const char *s, long long *ret) {
        char *end = NULL;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < 0)
                return false;
        *ret = v;
        return true;
}

static int parse_line(struct rollout_state *s, char *line, const char *file, unsigned lineno, struct diag *d) {
        _cleanup_strv_free_ char **f = NULL;
        for (char *save = NULL, *t = strtok_r(line, "\t", &save); t; t = strtok_r(NULL, "\t", &save))
                if (strv_extend(&f, t) < 0)
                        return -ENOMEM;
        size_t n = strv_length(f);
        if (n == 2 && STREQ(f[0], "rollout") && !s->rollout)
                return (s->rollout = strdup(f[1])) ? 0 : -ENOMEM;
        long long e = -1;
        if (n == 5 && STREQ(f[0], "node") && !rollout_state_find(s, f[1]) && parse_epoch(f[4], &e) && strlen(f[3]) == 64) {
                int r = rollout_state_add_node(s, f[1], f[2], f[3]);
                if (r >= 0)
                        s->nodes[s->n_nodes - 1].token_expires = (time_t) e;
                return r;
        }
        if (n == 3 && STREQ(f[0], "token") && parse_epoch(f[2], &e) && e > 0)
                return rollout_state_add_token(s, f[1], (time_t) e);
        diag_add(d, file, lineno, 1, "not a rollout state line (rollout ID | node HOSTNAME INSTANCE-ID DIGEST TOKEN-EXPIRES | token ID EXPIRES), "
                                     "or a repeated one; this file is written by nodeos-seedgen, do not edit it");
        return -EINVAL;
}

int rollout_state_read(const char *out_dir, struct rollout_state *ret, struct diag *d) {
        _cleanup_free_ char *path = NULL, *text = NULL;
        if (asprintf(&path, "%s/" STATE_FILE, out_dir) < 0)
                return -ENOMEM;
        int r = read_full_file(path, &text, NULL);
        if (r < 0)
                return r;
        struct rollout_state s = {};
        unsigned lineno = 0;
        for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && r >= 0; l = strtok_r(NULL, "\n", &save)) {
                lineno++;
                if (*l != '#')
                        r = parse_line(&s, l, path, lineno, d);
        }
        if (r >= 0 && !s.rollout) {
                diag_add(d, path, 0, 0, "no 'rollout' line; this file is written by nodeos-seedgen, do not edit it");
                r = -EINVAL;
        }
        if (r < 0) {
                rollout_state_done(&s);
                return r;
        }
        *ret = s;
        return 0;
}

int rollout_state_write(const char *dir, const struct rollout_state *s) {
        _cleanup_free_ char *text = NULL, *path = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        if (!f)
                return -ENOMEM;
        fputs("# nodeos-seedgen rollout state (no secrets): the rollout's id, each node's\n"
              "# instance-id, seed digest and token expiry, the tokens minted by reruns. Do not edit.\n", f);
        fprintf(f, "rollout\t%s\n", s->rollout);
        for (size_t i = 0; i < s->n_nodes; i++)
                fprintf(f, "node\t%s\t%s\t%s\t%lld\n", s->nodes[i].hostname, s->nodes[i].instance_id, s->nodes[i].digest,
                        (long long) s->nodes[i].token_expires);
        for (size_t i = 0; i < s->n_tokens; i++)
                fprintf(f, "token\t%s\t%lld\n", s->tokens[i].id, (long long) s->tokens[i].expires);
        if (fclose(f) != 0)
                return -ENOMEM;
        bool ok = field_ok(s->rollout);
        for (size_t i = 0; i < s->n_nodes; i++)
                ok &= field_ok(s->nodes[i].hostname) && field_ok(s->nodes[i].instance_id) && field_ok(s->nodes[i].digest);
        if (!ok)
                return -EINVAL;
        if (asprintf(&path, "%s/" STATE_FILE, dir) < 0)
                return -ENOMEM;
        return write_file_atomic("/", path, text, len, 0644, -1, -1, NULL);
}

int rollout_dir_inspect(const char *out_dir, enum rollout_dir *ret) {
        _cleanup_free_ char *marker = NULL;
        if (asprintf(&marker, "%s/nodes.tsv", out_dir) < 0)
                return -ENOMEM;
        DIR *dir = opendir(out_dir);
        if (!dir) {
                if (errno != ENOENT)
                        return negative_errno();
                *ret = ROLLOUT_DIR_NEW;
                return 0;
        }
        bool empty = true;
        for (struct dirent *e; (e = readdir(dir));)
                empty &= STREQ(e->d_name, ".") || STREQ(e->d_name, "..");
        closedir(dir);
        *ret = empty ? ROLLOUT_DIR_NEW : access(marker, F_OK) == 0 ? ROLLOUT_DIR_OURS : ROLLOUT_DIR_FOREIGN;
        return 0;
}

int rollout_stage_begin(const char *out_dir, char **ret_staging) {
        _cleanup_free_ char *copy = strdup(out_dir), *staging = NULL;
        if (!copy)
                return -ENOMEM;
        int r = mkdir_p(dirname(copy), 0755);
        if (r < 0)
                return r;
        if (asprintf(&staging, "%s.staging-XXXXXX", out_dir) < 0)
                return -ENOMEM;
        if (!mkdtemp(staging))
                return negative_errno();
        *ret_staging = TAKE_PTR(staging);
        return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
        (void) st, (void) flag, (void) f;
        return remove(path) < 0 ? -1 : 0;
}

int remove_tree(const char *path) {
        if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
                return negative_errno();
        return 0;
}

void rollout_stage_abort(const char *staging) {
        if (staging)
                (void) remove_tree(staging);
}

int link_or_copy(const char *from, const char *to) {
        if (link(from, to) == 0)
                return 0;
        struct stat st;
        _cleanup_free_ char *text = NULL;
        size_t len = 0;
        int r = stat(from, &st) < 0 ? negative_errno() : read_full_file(from, &text, &len);
        if (r < 0)
                return r;
        return write_file_atomic("/", to, text, len, st.st_mode & 07777, -1, -1, NULL);
}

static bool same_file_content(const char *a, const char *b) {
        _cleanup_free_ char *ta = NULL, *tb = NULL;
        size_t la = 0, lb = 0;
        return read_full_file(a, &ta, &la) >= 0 && read_full_file(b, &tb, &lb) >= 0 && la == lb && memcmp(ta, tb, la) == 0;
}

/* After the exchange, OLD holds the previous output: the operator's own
 * entries go back into OUT_DIR. */
static int carry_foreign_entries(const char *old, const char *out_dir) {
        DIR *dir = opendir(old);
        if (!dir)
                return negative_errno();
        int r = 0;
        for (struct dirent *e; (e = readdir(dir)) && r >= 0;) {
                if (STREQ(e->d_name, ".") || STREQ(e->d_name, "..") || is_ours(e->d_name))
                        continue;
                _cleanup_free_ char *from = NULL, *to = NULL;
                if (asprintf(&from, "%s/%s", old, e->d_name) < 0 || asprintf(&to, "%s/%s", out_dir, e->d_name) < 0)
                        r = -ENOMEM;
                else if (rename(from, to) < 0)
                        r = negative_errno();
        }
        closedir(dir);
        return r;
}

int rollout_stage_commit(const char *out_dir, const char *staging, const char *retire, struct diag *d) {
        enum rollout_dir kind;
        int r = rollout_dir_inspect(out_dir, &kind);
        if (r < 0)
                return r;
        if (kind == ROLLOUT_DIR_NEW) {
                /* rename(2) replaces an empty directory */
                if (rename(staging, out_dir) < 0) {
                        r = negative_errno();
                        diag_add(d, out_dir, 0, 0, "cannot move the new rollout into place: %s", strerror(-r));
                }
                return r;
        }
        if (renameat2(AT_FDCWD, staging, AT_FDCWD, out_dir, RENAME_EXCHANGE) < 0) {
                r = negative_errno();
                diag_add(d, out_dir, 0, 0, "cannot swap in the new rollout (renameat2 RENAME_EXCHANGE): %s; nothing changed",
                         strerror(-r));
                return r;
        }
        /* From here OUT_DIR is the new rollout and STAGING the old one. */
        r = carry_foreign_entries(staging, out_dir);
        if (r < 0) {
                diag_add(d, out_dir, 0, 0, "cannot move your own files back from %s: %s; they are there", staging, strerror(-r));
                return r;
        }
        _cleanup_free_ char *old_key = NULL, *new_key = NULL, *retired = NULL, *retired_dir = NULL;
        if (asprintf(&old_key, "%s/ca.key", staging) < 0 || asprintf(&new_key, "%s/ca.key", out_dir) < 0)
                return -ENOMEM;
        if (retire) {
                if (asprintf(&retired_dir, "%s/retired", out_dir) < 0 || asprintf(&retired, "%s/%s", retired_dir, retire) < 0)
                        return -ENOMEM;
                if ((r = mkdir_p(retired_dir, 0700)) < 0 || (rename(staging, retired) < 0 && (r = negative_errno()) < 0)) {
                        diag_add(d, out_dir, 0, 0, "the previous rollout stays in %s: cannot move it to %s: %s", staging, retired,
                                 strerror(-r));
                        return r;
                }
                return 0;
        }
        if (access(old_key, F_OK) == 0 && !same_file_content(old_key, new_key)) {
                diag_add(d, out_dir, 0, 0, "the previous rollout's CA key differs from the new one; the previous output is kept in %s",
                         staging);
                return -EIO;
        }
        return remove_tree(staging);
}
