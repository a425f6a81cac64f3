/*
 * libwebsockets - OpenSSL error queue: lws's crypto APIs (lws-hardened)
 *
 * Copyright (C) 2026 The lws-hardened authors
 *
 * Permission is hereby granted, free of charge, to any person obtaining a copy
 * of this software and associated documentation files (the "Software"), to
 * deal in the Software without restriction, including without limitation the
 * rights to use, copy, modify, merge, publish, distribute, sublicense, and/or
 * sell copies of the Software, and to permit persons to whom the Software is
 * furnished to do so, subject to the following conditions:
 *
 * The above copyright notice and this permission notice shall be included in
 * all copies or substantial portions of the Software.
 *
 * THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 * IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 * FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 * AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 * LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING
 * FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
 * IN THE SOFTWARE.
 *
 * lws's non-I/O OpenSSL APIs (certificate info, the lws_gen* helpers) must
 * return with the thread's OpenSSL error queue as they found it, on success
 * and on failure: whatever they leave is read by the application's next
 * OpenSSL call, or by SSL_get_error() after the next SSL call on any
 * connection of the thread.  (lws_tls_session_dump_load() needs no helper:
 * it marks and pops around its one decoder call.)
 *
 * Unlike the scopes of private-lib-tls-openssl-errq.h, these do not need
 * LWS_WITH_NETWORK: the x509 and gencrypto code is built without it too.
 * Everything here exists only when the patch that hooks it in defines
 * LWS_TLS_ERRQ_SCOPED_CRYPTO_APIS, so that patch can be dropped alone.
 */

#if !defined(__LWS_PRIVATE_LIB_TLS_OPENSSL_ERRQ_CRYPTO_H__)
#define __LWS_PRIVATE_LIB_TLS_OPENSSL_ERRQ_CRYPTO_H__

#include "private-lib-tls-openssl-errmark.h"

#if defined(LWS_TLS_ERRQ_SCOPED_CRYPTO_APIS)

/*
 * A mark/pop scope around one API call: everything pushed after _enter() is
 * dropped by _leave() (logged at info level), entries that were there
 * before are kept.  _leave() returns ret, so a wrapper can end with
 * "return lws_tls_errq_api_leave(&s, __func__, unscoped(...));".
 */
typedef struct lws_tls_errq_api {
	unsigned long		top_before;	/* newest entry when entered */
	lws_tls_errq_mark_t	mark;
} lws_tls_errq_api_t;

void
lws_tls_errq_api_enter(lws_tls_errq_api_t *s);
int
lws_tls_errq_api_leave(lws_tls_errq_api_t *s, const char *api, int ret);

/*
 * The unscoped originals: the APIs of the same names without "_unscoped"
 * are scopes around them (openssl-errq-crypto.c).
 */
int
lws_tls_openssl_cert_info_unscoped(X509 *x509, enum lws_tls_cert_info type,
				   union lws_tls_cert_info_results *buf,
				   size_t len);

#if defined(LWS_WITH_GENCRYPTO)
int
lws_genaes_crypt_unscoped(struct lws_genaes_ctx *ctx, const uint8_t *in,
			  size_t len, uint8_t *out,
			  uint8_t *iv_or_nonce_ctr_or_data_unit_16,
			  uint8_t *stream_block_16, size_t *nc_or_iv_off,
			  int taglen);
int
lws_genaes_destroy_unscoped(struct lws_genaes_ctx *ctx, unsigned char *tag,
			    size_t tlen);
int
lws_genrsa_new_keypair_unscoped(struct lws_context *context,
				struct lws_genrsa_ctx *ctx,
				enum enum_genrsa_mode mode,
				struct lws_gencrypto_keyelem *el, int bits);
int
lws_genrsa_public_decrypt_unscoped(struct lws_genrsa_ctx *ctx,
				   const uint8_t *in, size_t in_len,
				   uint8_t *out, size_t out_max);
int
lws_genrsa_hash_sign_unscoped(struct lws_genrsa_ctx *ctx, const uint8_t *in,
			      enum lws_genhash_types hash_type, uint8_t *sig,
			      size_t sig_len);
int
lws_genecdh_set_key_unscoped(struct lws_genec_ctx *ctx,
			     struct lws_gencrypto_keyelem *el,
			     enum enum_lws_dh_side side);
int
lws_genecdsa_set_key_unscoped(struct lws_genec_ctx *ctx,
			      const struct lws_gencrypto_keyelem *el);
int
lws_genecdh_compute_shared_secret_unscoped(struct lws_genec_ctx *ctx,
					   uint8_t *ss, int *ss_len);
#endif /* LWS_WITH_GENCRYPTO */

#endif /* LWS_TLS_ERRQ_SCOPED_CRYPTO_APIS */

#endif
