/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "basic/macro.h"
#include "basic/strv.h"
#include "shared/pki.h"
#include "shared/validate.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(X509 *, X509_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)

static char *bio_to_string(BIO *b) {
        char *data;
        long n = BIO_get_mem_data(b, &data);
        return n >= 0 ? strndup(data, (size_t) n) : NULL;
}

static int add_ext(X509 *cert, int nid, const char *value) {
        X509V3_CTX ctx;
        X509V3_set_ctx_nodb(&ctx);
        X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
        X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
        if (!ex)
                return -EINVAL;
        int ok = X509_add_ext(cert, ex, -1);
        X509_EXTENSION_free(ex);
        return ok ? 0 : -EINVAL;
}

/* A new RSA key. Through an EVP_PKEY_CTX, not EVP_RSA_gen(): that came
 * with OpenSSL 3.0, and Ubuntu 18.04 (the bionic profile) has 1.1.1. */
static EVP_PKEY *rsa_key_new(int bits) {
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, NULL);
        EVP_PKEY *key = NULL;
        if (!ctx || EVP_PKEY_keygen_init(ctx) <= 0 || EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, bits) <= 0 ||
            EVP_PKEY_keygen(ctx, &key) <= 0) {
                EVP_PKEY_free(key);
                key = NULL;
        }
        EVP_PKEY_CTX_free(ctx);
        return key;
}

int pki_make_ca(char **ret_cert_pem, secret *ret_key_pem) {
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *key = rsa_key_new(2048);
        _cleanup_(X509_freep) X509 *cert = X509_new();
        _cleanup_(BIO_freep) BIO *cb = BIO_new(BIO_s_mem()), *kb = BIO_new(BIO_s_mem());
        unsigned char serial[16];
        if (!key || !cert || !cb || !kb)
                return -ENOMEM;
        if (getrandom(serial, sizeof(serial), 0) != sizeof(serial))
                return -EIO;
        serial[0] &= 0x7f;
        BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
        if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert))) {
                BN_free(bn);
                return -EIO;
        }
        BN_free(bn);
        X509_set_version(cert, 2);
        X509_gmtime_adj(X509_getm_notBefore(cert), -300);
        X509_gmtime_adj(X509_getm_notAfter(cert), 10L * 365 * 24 * 3600);
        X509_set_pubkey(cert, key);
        X509_NAME *name = X509_get_subject_name(cert);
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *) "kubernetes", -1, -1, 0);
        X509_set_issuer_name(cert, name);
        if (add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            add_ext(cert, NID_key_usage, "critical,digitalSignature,keyEncipherment,keyCertSign") < 0 ||
            add_ext(cert, NID_subject_key_identifier, "hash") < 0)
                return -EIO;
        if (!X509_sign(cert, key, EVP_sha256()))
                return -EIO;
        if (!PEM_write_bio_X509(cb, cert) || !PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
                return -EIO;
        _cleanup_free_ char *c = bio_to_string(cb);
        char *k = bio_to_string(kb);
        if (!c || !k) {
                free(k);
                return -ENOMEM;
        }
        int r = secret_set(ret_key_pem, k);
        explicit_bzero(k, strlen(k));
        free(k);
        if (r < 0)
                return r;
        *ret_cert_pem = TAKE_PTR(c);
        return 0;
}

/* "sha256:" + hex sha256 of the certificate's SubjectPublicKeyInfo (DER). */
static int cert_spki_hash(X509 *cert, char **ret) {
        unsigned char *der = NULL;
        int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
        if (len <= 0)
                return -EINVAL;
        unsigned char md[32];
        unsigned int mdlen = 0;
        int ok = EVP_Digest(der, (size_t) len, md, &mdlen, EVP_sha256(), NULL);
        OPENSSL_free(der);
        if (!ok || mdlen != 32)
                return -EIO;
        char *s = malloc(7 + 64 + 1);
        if (!s)
                return -ENOMEM;
        strcpy(s, "sha256:");
        for (unsigned i = 0; i < 32; i++)
                sprintf(s + 7 + 2 * i, "%02x", md[i]);
        *ret = s;
        return 0;
}

int pki_ca_cert_hash(const char *cert_pem, char **ret) {
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(cert_pem, -1);
        if (!b)
                return -ENOMEM;
        _cleanup_(X509_freep) X509 *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (!cert)
                return -EINVAL;
        return cert_spki_hash(cert, ret);
}

int pki_ca_bundle_hashes(const char *pem, size_t len, char ***ret) {
        if (len > INT_MAX)
                return -EFBIG;
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int) len);
        _cleanup_strv_free_ char **hashes = NULL;
        if (!b)
                return -ENOMEM;
        for (;;) {
                _cleanup_(X509_freep) X509 *cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
                char *h = NULL;
                if (!cert)
                        break;
                int r = cert_spki_hash(cert, &h);
                if (r < 0)
                        return r;
                if (strv_consume(&hashes, h) < 0)
                        return -ENOMEM;
        }
        if (!hashes)
                return -EINVAL;
        *ret = TAKE_PTR(hashes);
        return 0;
}

int pki_make_token(secret *ret) {
        static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
        unsigned char rnd[64];
        char tok[24];
        size_t j = 0;
        while (j < 23) {
                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return -EIO;
                /* rejection sampling: bytes >= 252 (= 7 * 36) would bias the modulo */
                for (size_t i = 0; i < sizeof(rnd) && j < 23; i++) {
                        if (j == 6)
                                tok[j++] = '.';
                        if (rnd[i] < 252)
                                tok[j++] = alphabet[rnd[i] % 36];
                }
        }
        tok[23] = 0;
        int r = secret_set(ret, tok);
        explicit_bzero(tok, sizeof(tok));
        explicit_bzero(rnd, sizeof(rnd));
        return r;
}

int pki_sha256_hex(const void *data, size_t len, char **ret) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        if (!EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL))
                return -EIO;
        char *s = malloc(2 * mdlen + 1);
        if (!s)
                return -ENOMEM;
        for (unsigned i = 0; i < mdlen; i++)
                sprintf(s + 2 * i, "%02x", md[i]);
        *ret = s;
        return 0;
}

/* Standard base64 (with padding) of LEN bytes; NULL on ENOMEM or for
 * more than EVP_EncodeBlock's int can count. */
static char *base64(const unsigned char *in, size_t len) {
        if (len > (size_t) INT_MAX / 2)
                return NULL;
        char *out = malloc(4 * ((len + 2) / 3) + 1);
        if (out)
                EVP_EncodeBlock((unsigned char *) out, in, (int) len);
        return out;
}

/* Decodes exactly WANT bytes of standard base64; false for anything else. */
static bool unbase64(const char *in, unsigned char *out, size_t want) {
        size_t n = in ? strlen(in) : 0;
        unsigned char buf[128];
        if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(buf) || n != 4 * ((want + 2) / 3))
                return false;
        int got = EVP_DecodeBlock(buf, (const unsigned char *) in, (int) n);
        if (got < 0)
                return false;
        size_t pad = (in[n - 1] == '=') + (in[n - 2] == '=');
        if ((size_t) got - pad != want)
                return false;
        memcpy(out, buf, want);
        return true;
}

static EVP_PKEY *signing_key_read(const secret *key_pem) {
        const char *pem = secret_reveal(key_pem);
        BIO *b = pem ? BIO_new_mem_buf(pem, -1) : NULL;
        EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        if (k && EVP_PKEY_id(k) != EVP_PKEY_ED25519) {
                EVP_PKEY_free(k);
                return NULL;
        }
        return k;
}

static int public_b64(EVP_PKEY *k, char **ret) {
        unsigned char raw[32];
        size_t n = sizeof(raw);
        if (EVP_PKEY_get_raw_public_key(k, raw, &n) != 1 || n != sizeof(raw))
                return -EIO;
        *ret = base64(raw, n);
        return *ret ? 0 : -ENOMEM;
}

int pki_make_signing_key(secret *ret_key_pem, char **ret_pub_b64) {
        EVP_PKEY *k = NULL;
        EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
        int r = c && EVP_PKEY_keygen_init(c) == 1 && EVP_PKEY_keygen(c, &k) == 1 ? 0 : -EIO;
        EVP_PKEY_CTX_free(c);
        BIO *b = r >= 0 ? BIO_new(BIO_s_mem()) : NULL;
        if (r >= 0 && (!b || PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1))
                r = -EIO;
        if (r >= 0) {
                char *data = NULL;
                long len = BIO_get_mem_data(b, &data);
                _cleanup_free_ char *pem = len > 0 ? strndup(data, (size_t) len) : NULL;
                r = pem ? secret_set(ret_key_pem, pem) : -ENOMEM;
                if (pem)
                        explicit_bzero(pem, strlen(pem));
        }
        if (r >= 0)
                r = public_b64(k, ret_pub_b64);
        BIO_free(b);
        EVP_PKEY_free(k);
        return r;
}

int pki_signing_key_public(const secret *key_pem, char **ret_pub_b64) {
        EVP_PKEY *k = signing_key_read(key_pem);
        if (!k)
                return -EBADMSG;
        int r = public_b64(k, ret_pub_b64);
        EVP_PKEY_free(k);
        return r;
}

int pki_sign(const secret *key_pem, const void *msg, size_t len, char **ret_sig_b64) {
        EVP_PKEY *k = signing_key_read(key_pem);
        if (!k)
                return -EBADMSG;
        unsigned char sig[64];
        size_t n = sizeof(sig);
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        int r = c && EVP_DigestSignInit(c, NULL, NULL, NULL, k) == 1 &&
                EVP_DigestSign(c, sig, &n, msg, len) == 1 && n == sizeof(sig) ? 0 : -EIO;
        EVP_MD_CTX_free(c);
        EVP_PKEY_free(k);
        if (r < 0)
                return r;
        *ret_sig_b64 = base64(sig, n);
        return *ret_sig_b64 ? 0 : -ENOMEM;
}

int pki_verify(const char *pub_b64, const void *msg, size_t len, const char *sig_b64) {
        unsigned char raw[32], sig[64];
        if (!unbase64(pub_b64, raw, sizeof(raw)) || !unbase64(sig_b64, sig, sizeof(sig)))
                return -EBADMSG;
        EVP_PKEY *k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, sizeof(raw));
        if (!k)
                return -ENOMEM;
        EVP_MD_CTX *c = EVP_MD_CTX_new();
        int r = !c ? -ENOMEM
                   : EVP_DigestVerifyInit(c, NULL, NULL, NULL, k) == 1 && EVP_DigestVerify(c, sig, sizeof(sig), msg, len) == 1
                           ? 0
                           : -EBADMSG;
        EVP_MD_CTX_free(c);
        EVP_PKEY_free(k);
        return r;
}

/* Unpadded base64url (RFC 7515 section 2). New string or NULL. */
static char *base64url(const unsigned char *in, size_t len) {
        char *out = base64(in, len);
        if (!out)
                return NULL;
        size_t n = strlen(out);
        while (n > 0 && out[n - 1] == '=')
                n--;
        out[n] = 0;
        for (char *p = out; *p; p++)
                *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
        return out;
}

char *pki_jws_hs256_detached(const char *content, size_t len, const char *kid, const void *key, size_t key_len) {
        /* go-jose (which the bootstrap signer uses) marshals the protected
         * header as a map, so its keys come out sorted: alg, kid. */
        _cleanup_free_ char *header = NULL, *input = NULL;
        if (asprintf(&header, "{\"alg\":\"HS256\",\"kid\":\"%s\"}", kid) < 0)
                return NULL;
        _cleanup_free_ char *h64 = base64url((const unsigned char *) header, strlen(header));
        _cleanup_free_ char *p64 = base64url((const unsigned char *) content, len);
        if (!h64 || !p64 || asprintf(&input, "%s.%s", h64, p64) < 0 || key_len > INT_MAX)
                return NULL;
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        /* HMAC() refuses a NULL key; an empty one is a valid HS256 key */
        if (!HMAC(EVP_sha256(), key_len ? key : "", (int) key_len, (const unsigned char *) input, strlen(input), mac, &maclen))
                return NULL;
        _cleanup_free_ char *s64 = base64url(mac, maclen);
        OPENSSL_cleanse(mac, sizeof(mac));
        char *jws = NULL;
        if (!s64 || asprintf(&jws, "%s..%s", h64, s64) < 0)
                return NULL;
        return jws;
}

char *pki_bootstrap_jws(const char *content, size_t len, const secret *token) {
        const char *t = secret_reveal(token);
        char id[7];
        if (!bootstrap_token_is_valid(t))
                return NULL;
        memcpy(id, t, 6);
        id[6] = 0;
        return pki_jws_hs256_detached(content, len, id, t + 7, 16);
}
