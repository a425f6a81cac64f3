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
 * See private-lib-tls-openssl-errq-crypto.h.  Built with or without
 * LWS_WITH_NETWORK.  The wrappers below cover the APIs measured to leave
 * entries (test-apps/errq-api/lws-errq-api-check.c): each is a scope around
 * the unchanged original, so every return path of it is covered.
 */

#include "private-lib-core.h"
#include "private-lib-tls-openssl.h"

#if defined(LWS_TLS_ERRQ_SCOPED_CRYPTO_APIS)

void
lws_tls_errq_api_enter(lws_tls_errq_api_t *s)
{
	lws_tls_errq_mark_set(&s->mark);
	/* after the mark: wolfSSL's lifts what was queued */
	s->top_before = ERR_peek_last_error();
}

int
lws_tls_errq_api_leave(lws_tls_errq_api_t *s, const char *api, int ret)
{
	unsigned long e = ERR_peek_last_error();
	char buf[160];

	if (e && e != s->top_before) {
		ERR_error_string_n(e, buf, sizeof(buf));
		lwsl_info("%s: returned %d, dropping the OpenSSL errors it "
			  "left (newest: %s)\n", api, ret, buf);
	}
	lws_tls_errq_mark_pop(&s->mark);

	return ret;
}

/*
 * lws_x509_info(), lws_tls_vhost_cert_info() and lws_tls_peer_cert_info():
 * a certificate with a malformed key identifier extension (which a peer
 * chooses) leaves the ASN.1 decoder's errors.
 */
int
lws_tls_openssl_cert_info(X509 *x509, enum lws_tls_cert_info type,
			  union lws_tls_cert_info_results *buf, size_t len)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, "lws_tls_openssl_cert_info",
			lws_tls_openssl_cert_info_unscoped(x509, type, buf, len));
}

#if defined(LWS_WITH_GENCRYPTO)

/* an unusable IV or tag length, a failed final block, a tag not read */
int
lws_genaes_crypt(struct lws_genaes_ctx *ctx, const uint8_t *in, size_t len,
		 uint8_t *out, uint8_t *iv_or_nonce_ctr_or_data_unit_16,
		 uint8_t *stream_block_16, size_t *nc_or_iv_off, int taglen)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genaes_crypt_unscoped(ctx, in, len, out,
					iv_or_nonce_ctr_or_data_unit_16,
					stream_block_16, nc_or_iv_off, taglen));
}

int
lws_genaes_destroy(struct lws_genaes_ctx *ctx, unsigned char *tag, size_t tlen)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genaes_destroy_unscoped(ctx, tag, tlen));
}

/* key generation refused (e.g. too few bits) */
int
lws_genrsa_new_keypair(struct lws_context *context, struct lws_genrsa_ctx *ctx,
		       enum enum_genrsa_mode mode, struct lws_gencrypto_keyelem *el,
		       int bits)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genrsa_new_keypair_unscoped(context, ctx, mode, el,
							bits));
}

/* bad padding of the input */
int
lws_genrsa_public_decrypt(struct lws_genrsa_ctx *ctx, const uint8_t *in,
			  size_t in_len, uint8_t *out, size_t out_max)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genrsa_public_decrypt_unscoped(ctx, in, in_len, out,
							   out_max));
}

/* digest too big for the key, PSS padding not settable */
int
lws_genrsa_hash_sign(struct lws_genrsa_ctx *ctx, const uint8_t *in,
		     enum lws_genhash_types hash_type, uint8_t *sig,
		     size_t sig_len)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genrsa_hash_sign_unscoped(ctx, in, hash_type, sig,
						      sig_len));
}

/* both import a key: a private part that does not match the public one */
int
lws_genecdh_set_key(struct lws_genec_ctx *ctx, struct lws_gencrypto_keyelem *el,
		    enum enum_lws_dh_side side)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genecdh_set_key_unscoped(ctx, el, side));
}

int
lws_genecdsa_set_key(struct lws_genec_ctx *ctx,
		     const struct lws_gencrypto_keyelem *el)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genecdsa_set_key_unscoped(ctx, el));
}

/* the peer's point on another curve than ours */
int
lws_genecdh_compute_shared_secret(struct lws_genec_ctx *ctx, uint8_t *ss,
				  int *ss_len)
{
	lws_tls_errq_api_t s;

	lws_tls_errq_api_enter(&s);

	return lws_tls_errq_api_leave(&s, __func__,
			lws_genecdh_compute_shared_secret_unscoped(ctx, ss,
								   ss_len));
}

#endif /* LWS_WITH_GENCRYPTO */

#endif /* LWS_TLS_ERRQ_SCOPED_CRYPTO_APIS */
