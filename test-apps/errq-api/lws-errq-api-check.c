/*
 * lws-errq-api-check: do lws's non-I/O OpenSSL APIs return with the thread's
 * OpenSSL error queue as they found it?  (field notes, defect Q2)
 *
 * OpenSSL keeps one error queue per thread.  An entry an lws API leaves on it
 * is found by the application's next OpenSSL call, or by SSL_get_error() on
 * whichever connection of the thread makes the next SSL call, and that
 * connection is then misjudged.  So every lws API must leave nothing behind,
 * whether it succeeds or fails.
 *
 * This tool calls each API with bad input and with good input, from an empty
 * queue (nothing planted: the queue is cleared before each call), and counts
 * the entries found after it returned:
 *
 *   lws_x509_*              parse_from_pem, verify, info, public_to_jwk,
 *                           jwk_privkey_pem (the last two need LWS_WITH_JOSE);
 *                           bad input includes a certificate with malformed
 *                           key identifier extensions, made here
 *   lws_tls_vhost_cert_info on a vhost with the test server certificate
 *   lws_tls_session_dump_*  save / load, with a valid session blob made here
 *                           and corrupted ones (LWS_WITH_TLS_SESSIONS)
 *   lws_gen*                genhash, genhmac, genaes, genrsa, genec (ECDSA and
 *                           ECDH) (LWS_WITH_GENCRYPTO)
 *
 * With --plant-before, one error of our own is pushed before each call, as an
 * application may have one queued; calls that removed it are reported too
 * (informational: the exit status counts only what the calls left).
 *
 * APIs the library was built without are listed as skipped.  One JSON object
 * is written (--json, default stdout) with each call's result and the entries
 * per API.  Exit status: 0 no API left an entry, 1 some API did, 2 usage or
 * setup error.
 */
#include "th-lws.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#define TOOL "lws-errq-api-check"
#define MAX_CHECKS 256
#define MAX_APIS 64

static struct {
	const char	*pki;
	const char	*json_path;
	const char	*only;
	int		debug;
	int		verbose;
	int		plant_before;
} opt = {
	.json_path = "-",
	.debug = 0,	/* bad input makes lws log errors: quiet by default */
};

/* ---- results ---------------------------------------------------------- */

struct check {
	const char	*api;
	const char	*what;		/* the case, e.g. "bad: garbage PEM" */
	int		bad_input;
	long		rc;
	int		entries;	/* left by the call (plants not counted) */
	int		plant_lost;	/* --plant-before: the plant was gone */
	char		first[232];	/* first entry left, "" if none */
};

static struct check checks[MAX_CHECKS];
static int n_checks;

struct skip {
	const char	*api;
	const char	*why;
};
static struct skip skips[MAX_APIS];
static int n_skips;

static int setup_entries;	/* left by setup (context creation...) */

struct first_cb_arg {
	char		*buf;
	size_t		len;
	int		lws_left;	/* entries that are not our plant */
	int		planted;	/* our plant seen */
};

static void
first_cb(const th_errq_entry_t *e, void *opaque)
{
	struct first_cb_arg *a = opaque;

	if (e->planted) {
		a->planted++;
		return;
	}
	a->lws_left++;
	if (!a->buf[0])
		th_errq_describe(e, a->buf, a->len);
}

static int
selected(const char *api)
{
	return !opt.only || !strncmp(api, opt.only, strlen(opt.only));
}

/*
 * Start of a measured call: an empty queue, or with --plant-before one
 * entry of ours (an application's own error, which the call must keep).
 */
static void
pre(void)
{
	ERR_clear_error();
	if (opt.plant_before)
		th_errq_plant(1);
}

/* after a measured call: count (and clear) what it left */
static void
post(const char *api, const char *what, int bad_input, long rc)
{
	struct check *c;
	struct first_cb_arg a;
	char first[232] = "";
	int n;

	memset(&a, 0, sizeof(a));
	a.buf = first;
	a.len = sizeof(first);
	th_errq_drain(first_cb, &a, 0);
	ERR_clear_error();
	n = a.lws_left;

	if (n_checks == MAX_CHECKS)
		th_die("more than %d checks", MAX_CHECKS);
	c = &checks[n_checks++];
	c->api = api;
	c->what = what;
	c->bad_input = bad_input;
	c->rc = rc;
	c->entries = n;
	c->plant_lost = opt.plant_before && !a.planted;
	snprintf(c->first, sizeof(c->first), "%s", first);
	if (opt.verbose || n || c->plant_lost)
		fprintf(stderr, "%s: %-34s %-44s rc %ld: %d entr%s%s%s%s\n",
			TOOL, api, what, rc, n, n == 1 ? "y" : "ies",
			c->plant_lost ? ", the planted entry was removed" : "",
			n ? ", first " : "", first);
}

/*
 * CHECK(api, bad, what, expr): measure one call.  expr is evaluated between
 * pre() and post() and yields the API's return value.  It is always run
 * (later calls may need what it made); --only just leaves it unreported.
 */
#define CHECK(_api, _bad, _what, _expr) do {				\
		long _rc;						\
		pre();							\
		_rc = (long)(_expr);					\
		if (selected(_api))					\
			post(_api, _what, _bad, _rc);			\
		else							\
			setup_done(_api);				\
	} while (0)

static void setup_done(const char *what);

/* setup work outside the measured calls: make sure it left nothing */
static void
setup_done(const char *what)
{
	char first[232] = "";
	struct first_cb_arg a;
	int n;

	memset(&a, 0, sizeof(a));
	a.buf = first;
	a.len = sizeof(first);
	th_errq_drain(first_cb, &a, 0);
	n = a.lws_left;		/* a plant of an unreported CHECK is not one */

	if (n) {
		setup_entries += n;
		if (opt.verbose)
			fprintf(stderr, "%s: setup (%s) left %d entries "
				"(not counted)\n", TOOL, what, n);
	}
	ERR_clear_error();
}

static void __attribute__((unused))
skip(const char *api, const char *why)
{
	if (selected(api) && n_skips < MAX_APIS) {
		skips[n_skips].api = api;
		skips[n_skips++].why = why;
	}
}

/* ---- inputs ----------------------------------------------------------------- */

static char *
pki_file(const char *name, size_t *len)
{
	char path[1024];
	char *p;

	snprintf(path, sizeof(path), "%s/%s", opt.pki, name);
	p = th_lws_read_file(path, len);
	if (!p)
		th_die("cannot read %s (make the PKI with "
		       "test-apps/stress/gen-certs.sh DIR)", path);

	return p;
}

/* a private copy: lws_x509_jwk_privkey_pem() wipes the PEM it is given */
static char *
dup_mem(const char *p, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		th_die("out of memory");
	memcpy(d, p, len);
	d[len] = '\0';

	return d;
}

static void
fill(uint8_t *p, size_t len, uint8_t seed)
{
	size_t n;

	for (n = 0; n < len; n++)
		p[n] = (uint8_t)(seed + n * 7);
}

/* ---- lws_x509_* -------------------------------------------------------------- */

static const char garbage_pem[] = "this is not a certificate\n";
static const char bad_b64_pem[] =
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBszCCAVmgAwIBAgIU!!!!not*base64!!!!\n"
	"-----END CERTIFICATE-----\n";
static const char bad_der_pem[] =	/* valid base64, not a certificate */
	"-----BEGIN CERTIFICATE-----\n"
	"MIIBszCCAVmgAwIBAgIUAAAAAAAAAAAAAAAAAAAAAAAAAAAwCgYIKoZIzj0EAwIw\n"
	"-----END CERTIFICATE-----\n";

/*
 * A self-signed certificate whose authority and subject key identifier
 * extensions hold malformed DER (OpenSSL parses extensions lazily, so the
 * certificate itself parses).  PEM, malloc'd.
 */
static char *
make_bad_ext_cert(size_t *len)
{
	static const unsigned char akid[] = { 0x30, 0x05, 0x80, 0x10, 0x01 },
				   skid[] = { 0x04, 0x20, 0x01 };
	const unsigned char *ext_der[2] = { akid, skid };
	static const int nid[2] = { NID_authority_key_identifier,
				    NID_subject_key_identifier };
	static const int ext_len[2] = { sizeof(akid), sizeof(skid) };
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	EVP_PKEY *pk = NULL;
	X509 *x = X509_new();
	X509_NAME *name;
	char *pem = NULL, *p;
	BIO *bio = NULL;
	int n;

	if (!kc || !x || EVP_PKEY_keygen_init(kc) != 1 ||
	    EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc,
					NID_X9_62_prime256v1) != 1 ||
	    EVP_PKEY_keygen(kc, &pk) != 1)
		goto out;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				   (const unsigned char *)"malformed", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, pk);
	for (n = 0; n < 2; n++) {
		ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
		X509_EXTENSION *e;

		if (!os || !ASN1_OCTET_STRING_set(os, ext_der[n], ext_len[n]))
			goto out;
		e = X509_EXTENSION_create_by_NID(NULL, nid[n], 0, os);
		ASN1_OCTET_STRING_free(os);
		if (!e || !X509_add_ext(x, e, -1))
			goto out;
		X509_EXTENSION_free(e);
	}
	if (!X509_sign(x, pk, EVP_sha256()))
		goto out;
	bio = BIO_new(BIO_s_mem());
	if (!bio || !PEM_write_bio_X509(bio, x))
		goto out;
	*len = (size_t)BIO_get_mem_data(bio, &p);
	pem = dup_mem(p, *len);
out:
	BIO_free(bio);
	X509_free(x);
	EVP_PKEY_free(pk);
	EVP_PKEY_CTX_free(kc);
	if (!pem)
		th_die("cannot make the malformed-extension certificate");
	setup_done("malformed-extension certificate");

	return pem;
}

static struct lws_x509_cert *
parse(const char *api_case, const char *pem, size_t len, int bad)
{
	struct lws_x509_cert *x = NULL;

	if (lws_x509_create(&x))
		th_die("lws_x509_create failed");
	CHECK("lws_x509_parse_from_pem", bad, api_case,
	      lws_x509_parse_from_pem(x, pem, len));

	return x;
}

static struct lws_x509_cert *
load_cert(const char *file)
{
	struct lws_x509_cert *x = NULL;
	size_t len;
	char *pem = pki_file(file, &len);

	if (lws_x509_create(&x) || lws_x509_parse_from_pem(x, pem, len + 1))
		th_die("cannot parse %s/%s with lws_x509_parse_from_pem",
		       opt.pki, file);
	free(pem);
	setup_done("load_cert");

	return x;
}

static void
x509_info_checks(struct lws_x509_cert *x, const char *cert_name, int has_akid)
{
	static const struct {
		enum lws_tls_cert_info	type;
		const char		*name;
	} types[] = {
		{ LWS_TLS_CERT_INFO_VALIDITY_FROM, "VALIDITY_FROM" },
		{ LWS_TLS_CERT_INFO_VALIDITY_TO, "VALIDITY_TO" },
		{ LWS_TLS_CERT_INFO_COMMON_NAME, "COMMON_NAME" },
		{ LWS_TLS_CERT_INFO_ISSUER_NAME, "ISSUER_NAME" },
		{ LWS_TLS_CERT_INFO_USAGE, "USAGE" },
		{ LWS_TLS_CERT_INFO_OPAQUE_PUBLIC_KEY, "OPAQUE_PUBLIC_KEY" },
		{ LWS_TLS_CERT_INFO_DER_RAW, "DER_RAW" },
		{ LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID, "AUTHORITY_KEY_ID" },
		{ LWS_TLS_CERT_INFO_SUBJECT_KEY_ID, "SUBJECT_KEY_ID" },
		/*
		 * Only where there is no authority key id (else 4.3.5 leaks
		 * the decoded AUTHORITY_KEYID, which sanitizer runs report)
		 */
		{ LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID_ISSUER,
						"AUTHORITY_KEY_ID_ISSUER" },
		{ LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID_SERIAL,
						"AUTHORITY_KEY_ID_SERIAL" },
	};
	static char names[2][LWS_ARRAY_SIZE(types)][64];
	static int which;
	union {
		union lws_tls_cert_info_results r;
		char big[4096];
	} u;
	size_t len = sizeof(u) - sizeof(u.r) + sizeof(u.r.ns.name);
	size_t n;

	for (n = 0; n < LWS_ARRAY_SIZE(types); n++) {
		if (has_akid &&
		    (types[n].type == LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID_ISSUER ||
		     types[n].type == LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID_SERIAL))
			continue;
		snprintf(names[which][n], sizeof(names[which][n]), "good: %s %s",
			 cert_name, types[n].name);
		CHECK("lws_x509_info", 0, names[which][n],
		      lws_x509_info(x, types[n].type, &u.r, len));
	}
	which = !which;
}

static void
x509_checks(void)
{
	struct lws_x509_cert *ca, *srv, *cli, *rsa, *x;
	size_t len;
	char *pem;
	union {
		union lws_tls_cert_info_results r;
		char big[4096];
	} u;

	/* parse_from_pem: bad input */
	x = parse("bad: not PEM at all", garbage_pem, sizeof(garbage_pem), 1);
	lws_x509_destroy(&x);
	x = parse("bad: PEM armour, broken base64", bad_b64_pem,
		  sizeof(bad_b64_pem), 1);
	lws_x509_destroy(&x);
	x = parse("bad: PEM armour, not a certificate", bad_der_pem,
		  sizeof(bad_der_pem), 1);
	lws_x509_destroy(&x);
	pem = pki_file("server.pem", &len);
	x = parse("bad: truncated certificate", pem, len / 2, 1);
	lws_x509_destroy(&x);
	/* ...and good input */
	x = parse("good: server.pem", pem, len + 1, 0);
	lws_x509_destroy(&x);
	free(pem);

	ca = load_cert("ca.pem");
	srv = load_cert("server.pem");
	cli = load_cert("client.pem");
	rsa = load_cert("server-rsa.pem");

	/* verify */
	CHECK("lws_x509_verify", 0, "good: server by CA, CN localhost",
	      lws_x509_verify(srv, ca, "localhost"));
	CHECK("lws_x509_verify", 0, "good: client by CA, no CN",
	      lws_x509_verify(cli, ca, NULL));
	CHECK("lws_x509_verify", 1, "bad: CN mismatch",
	      lws_x509_verify(srv, ca, "example.com"));
	CHECK("lws_x509_verify", 1, "bad: CA by server (not its issuer)",
	      lws_x509_verify(ca, srv, NULL));
	CHECK("lws_x509_verify", 1, "bad: client by RSA server cert",
	      lws_x509_verify(cli, rsa, NULL));

	/* info */
	x509_info_checks(srv, "server", 1);
	x509_info_checks(ca, "ca", 0);
	CHECK("lws_x509_info", 1, "bad: DER_RAW into 16 bytes",
	      lws_x509_info(srv, LWS_TLS_CERT_INFO_DER_RAW, &u.r, 16));
	CHECK("lws_x509_info", 1, "bad: OPAQUE_PUBLIC_KEY into 16 bytes",
	      lws_x509_info(srv, LWS_TLS_CERT_INFO_OPAQUE_PUBLIC_KEY, &u.r, 16));
	CHECK("lws_x509_info", 1, "bad: unknown info type",
	      lws_x509_info(srv, (enum lws_tls_cert_info)999, &u.r,
			    sizeof(u.r.ns.name)));

	/* a certificate whose key identifier extensions are malformed */
	pem = make_bad_ext_cert(&len);
	x = parse("good: cert with malformed key-id extensions", pem, len + 1,
		  0);
	free(pem);
	if (x) {
		size_t l = sizeof(u) - sizeof(u.r) + sizeof(u.r.ns.name);

		CHECK("lws_x509_info", 1, "bad: malformed AUTHORITY_KEY_ID",
		      lws_x509_info(x, LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID,
				    &u.r, l));
		CHECK("lws_x509_info", 1, "bad: malformed AUTHORITY_KEY_ID_ISSUER",
		      lws_x509_info(x, LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID_ISSUER,
				    &u.r, l));
		CHECK("lws_x509_info", 1, "bad: malformed SUBJECT_KEY_ID",
		      lws_x509_info(x, LWS_TLS_CERT_INFO_SUBJECT_KEY_ID,
				    &u.r, l));
		CHECK("lws_x509_info", 1, "bad: COMMON_NAME of that cert",
		      lws_x509_info(x, LWS_TLS_CERT_INFO_COMMON_NAME, &u.r, l));
		CHECK("lws_x509_verify", 1, "bad: malformed cert by CA",
		      lws_x509_verify(x, ca, NULL));
		CHECK("lws_x509_verify", 1, "bad: CA by malformed cert",
		      lws_x509_verify(ca, x, NULL));
		lws_x509_destroy(&x);
	}

#if defined(LWS_WITH_JOSE)
	{
		char *k_ec, *k_rsa, *k_enc, *c;
		size_t l_ec, l_rsa, l_enc = 0;
		struct lws_jwk jwk_ec, jwk_rsa, jwk;
		EVP_PKEY *pk = NULL;
		BIO *bio;
		FILE *f;
		char path[1024];

		/* public_to_jwk */
		CHECK("lws_x509_public_to_jwk", 0, "good: EC cert, P-256 allowed",
		      lws_x509_public_to_jwk(&jwk_ec, srv, "P-256,P-384,P-521",
					     2048));
		CHECK("lws_x509_public_to_jwk", 0, "good: RSA cert, 2048 bits min",
		      lws_x509_public_to_jwk(&jwk_rsa, rsa, NULL, 2048));
		CHECK("lws_x509_public_to_jwk", 1, "bad: EC cert, no curve allowed",
		      lws_x509_public_to_jwk(&jwk, srv, NULL, 2048));
		lws_jwk_destroy(&jwk);
		CHECK("lws_x509_public_to_jwk", 1, "bad: EC cert, only P-384 allowed",
		      lws_x509_public_to_jwk(&jwk, srv, "P-384", 2048));
		lws_jwk_destroy(&jwk);
		CHECK("lws_x509_public_to_jwk", 1, "bad: RSA cert, 4096 bits min",
		      lws_x509_public_to_jwk(&jwk, rsa, NULL, 4096));
		lws_jwk_destroy(&jwk);

		/* jwk_privkey_pem (it wipes the PEM: always a copy) */
		k_ec = pki_file("server.key", &l_ec);
		k_rsa = pki_file("server-rsa.key", &l_rsa);

		/* the RSA key, encrypted with a passphrase, made here */
		snprintf(path, sizeof(path), "%s/server-rsa.key", opt.pki);
		f = fopen(path, "r");
		if (f) {
			pk = PEM_read_PrivateKey(f, NULL, NULL, NULL);
			fclose(f);
		}
		bio = BIO_new(BIO_s_mem());
		if (!pk || !bio || !PEM_write_bio_PrivateKey(bio, pk,
				EVP_aes_128_cbc(), (unsigned char *)"right", 5,
				NULL, NULL))
			th_die("cannot make an encrypted copy of server-rsa.key");
		l_enc = (size_t)BIO_get_mem_data(bio, &c);
		k_enc = dup_mem(c, l_enc);
		BIO_free(bio);
		EVP_PKEY_free(pk);
		setup_done("encrypted key");

		c = dup_mem(garbage_pem, sizeof(garbage_pem));
		CHECK("lws_x509_jwk_privkey_pem", 1, "bad: not PEM at all",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_ec, c,
					       sizeof(garbage_pem), ""));
		free(c);
		c = dup_mem(k_rsa, l_rsa);
		CHECK("lws_x509_jwk_privkey_pem", 1, "bad: EC jwk, RSA key",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_ec, c, l_rsa + 1, ""));
		free(c);
		c = dup_mem(k_ec, l_ec);
		CHECK("lws_x509_jwk_privkey_pem", 1, "bad: RSA jwk, EC key",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_rsa, c, l_ec + 1, ""));
		free(c);
		c = dup_mem(k_enc, l_enc);
		CHECK("lws_x509_jwk_privkey_pem", 1, "bad: wrong passphrase",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_rsa, c, l_enc, "wrong"));
		free(c);
		c = dup_mem(k_ec, l_ec / 2);
		CHECK("lws_x509_jwk_privkey_pem", 1, "bad: truncated EC key",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_ec, c, l_ec / 2, ""));
		free(c);

		c = dup_mem(k_ec, l_ec);
		CHECK("lws_x509_jwk_privkey_pem", 0, "good: EC jwk, its key",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_ec, c, l_ec + 1, ""));
		free(c);
		c = dup_mem(k_enc, l_enc);
		CHECK("lws_x509_jwk_privkey_pem", 0,
		      "good: RSA jwk, its key, right passphrase",
		      lws_x509_jwk_privkey_pem(NULL, &jwk_rsa, c, l_enc, "right"));
		free(c);

		lws_jwk_destroy(&jwk_ec);
		lws_jwk_destroy(&jwk_rsa);
		free(k_ec);
		free(k_rsa);
		free(k_enc);
	}
#else
	skip("lws_x509_public_to_jwk", "built without LWS_WITH_JOSE");
	skip("lws_x509_jwk_privkey_pem", "built without LWS_WITH_JOSE");
#endif

	lws_x509_destroy(&ca);
	lws_x509_destroy(&srv);
	lws_x509_destroy(&cli);
	lws_x509_destroy(&rsa);
	setup_done("x509 teardown");
}

static void
vhost_cert_info_checks(struct lws_vhost *vh)
{
	union {
		union lws_tls_cert_info_results r;
		char big[4096];
	} u;
	size_t len = sizeof(u) - sizeof(u.r) + sizeof(u.r.ns.name);

	CHECK("lws_tls_vhost_cert_info", 0, "good: COMMON_NAME",
	      lws_tls_vhost_cert_info(vh, LWS_TLS_CERT_INFO_COMMON_NAME, &u.r,
				      len));
	CHECK("lws_tls_vhost_cert_info", 0, "good: DER_RAW",
	      lws_tls_vhost_cert_info(vh, LWS_TLS_CERT_INFO_DER_RAW, &u.r, len));
	CHECK("lws_tls_vhost_cert_info", 1, "bad: DER_RAW into 16 bytes",
	      lws_tls_vhost_cert_info(vh, LWS_TLS_CERT_INFO_DER_RAW, &u.r, 16));
	CHECK("lws_tls_vhost_cert_info", 0, "good: AUTHORITY_KEY_ID",
	      lws_tls_vhost_cert_info(vh, LWS_TLS_CERT_INFO_AUTHORITY_KEY_ID,
				      &u.r, len));
}

/* ---- lws_tls_session_dump_* ------------------------------------------------ */

#if defined(LWS_WITH_TLS_SESSIONS)

struct blob {
	const uint8_t	*p;
	size_t		len;
	int		fail;		/* the load callback reports failure */
	size_t		saved_len;	/* what the save callback was given */
};

static int
sess_load_cb(struct lws_context *cx, struct lws_tls_session_dump *info)
{
	struct blob *b = info->opaque;

	if (b->fail)
		return 1;
	/* lws frees the blob with free() */
	info->blob = malloc(b->len ? b->len : 1);
	if (!info->blob)
		return 1;
	if (b->len)
		memcpy(info->blob, b->p, b->len);
	info->blob_len = b->len;

	return 0;
}

static int
sess_save_cb(struct lws_context *cx, struct lws_tls_session_dump *info)
{
	struct blob *b = info->opaque;

	b->saved_len = info->blob_len;

	return 0;
}

/* a valid TLS 1.3 client session, DER-encoded (as the save callback gets) */
static uint8_t *
make_session_blob(size_t *len)
{
	static const unsigned char id_aes128gcm[] = { 0x13, 0x01 };
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	SSL *s = c ? SSL_new(c) : NULL;
	SSL_SESSION *sess = SSL_SESSION_new();
	const SSL_CIPHER *ciph = s ? SSL_CIPHER_find(s, id_aes128gcm) : NULL;
	uint8_t key[48], *blob = NULL, *p;
	int n;

	fill(key, sizeof(key), 3);
	if (!sess || !ciph ||
	    !SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) ||
	    !SSL_SESSION_set_cipher(sess, ciph) ||
	    !SSL_SESSION_set1_master_key(sess, key, 32) ||
	    !SSL_SESSION_set1_hostname(sess, "localhost") ||
	    !SSL_SESSION_set_time(sess, (long)time(NULL)) ||
	    !SSL_SESSION_set_timeout(sess, 3600))
		goto out;
	n = i2d_SSL_SESSION(sess, NULL);
	if (n <= 0 || !(blob = malloc((size_t)n)))
		goto out;
	p = blob;
	i2d_SSL_SESSION(sess, &p);
	*len = (size_t)n;
out:
	SSL_SESSION_free(sess);
	SSL_free(s);
	SSL_CTX_free(c);
	if (!blob)
		th_die("cannot make a TLS session blob with OpenSSL");
	setup_done("session blob");

	return blob;
}

static void
session_checks(struct lws_vhost *vh)
{
	uint8_t *good, *bad;
	struct blob b;
	size_t len;

	good = make_session_blob(&len);
	bad = malloc(len);
	if (!bad)
		th_die("out of memory");

	/* bad input first, each for its own host (a loaded one stays) */
	memset(&b, 0, sizeof(b));
	b.fail = 1;
	CHECK("lws_tls_session_dump_load", 1, "bad: load callback fails",
	      lws_tls_session_dump_load(vh, "a.invalid", 443, sess_load_cb, &b));

	fill(bad, len, 0x5a);
	memset(&b, 0, sizeof(b));
	b.p = bad;
	b.len = len;
	CHECK("lws_tls_session_dump_load", 1, "bad: garbage blob",
	      lws_tls_session_dump_load(vh, "b.invalid", 443, sess_load_cb, &b));

	b.p = good;
	b.len = len / 2;
	CHECK("lws_tls_session_dump_load", 1, "bad: truncated blob",
	      lws_tls_session_dump_load(vh, "c.invalid", 443, sess_load_cb, &b));

	/* the session's first field has the wrong type */
	memcpy(bad, good, len);
	/* the first field (version, an INTEGER) turned into an OCTET STRING */
	bad[2 + ((bad[1] & 0x80) ? (bad[1] & 0x7f) : 0)] = 0x04;
	b.p = bad;
	b.len = len;
	CHECK("lws_tls_session_dump_load", 1, "bad: corrupted blob",
	      lws_tls_session_dump_load(vh, "d.invalid", 443, sess_load_cb, &b));

	b.p = bad;
	b.len = 0;
	CHECK("lws_tls_session_dump_load", 1, "bad: empty blob",
	      lws_tls_session_dump_load(vh, "e.invalid", 443, sess_load_cb, &b));

	memset(&b, 0, sizeof(b));
	CHECK("lws_tls_session_dump_save", 1, "bad: no session for the host",
	      lws_tls_session_dump_save(vh, "a.invalid", 443, sess_save_cb, &b));

	/* good input: load a valid session, save it back */
	b.p = good;
	b.len = len;
	CHECK("lws_tls_session_dump_load", 0, "good: valid session blob",
	      lws_tls_session_dump_load(vh, "localhost", 7681, sess_load_cb, &b));
	CHECK("lws_tls_session_dump_load", 1, "bad: session already loaded",
	      lws_tls_session_dump_load(vh, "localhost", 7681, sess_load_cb, &b));
	CHECK("lws_tls_session_dump_save", 0, "good: the loaded session",
	      lws_tls_session_dump_save(vh, "localhost", 7681, sess_save_cb, &b));

	free(good);
	free(bad);
}
#endif

/* ---- lws_gen* ---------------------------------------------------------------- */

#if defined(LWS_WITH_GENCRYPTO)

static void
genhash_checks(void)
{
	struct lws_genhash_ctx h;
	struct lws_genhmac_ctx m;
	uint8_t key[32], data[100], out[64];

	fill(key, sizeof(key), 1);
	fill(data, sizeof(data), 2);

	CHECK("lws_genhash_init", 0, "good: sha256",
	      lws_genhash_init(&h, LWS_GENHASH_TYPE_SHA256));
	CHECK("lws_genhash_update", 0, "good: 100 bytes",
	      lws_genhash_update(&h, data, sizeof(data)));
	CHECK("lws_genhash_destroy", 0, "good: final",
	      lws_genhash_destroy(&h, out));

	CHECK("lws_genhmac_init", 1, "bad: unknown type",
	      lws_genhmac_init(&m, LWS_GENHMAC_TYPE_UNKNOWN, key, sizeof(key)));
	CHECK("lws_genhmac_init", 1, "bad?: sha256, empty key (accepted)",
	      lws_genhmac_init(&m, LWS_GENHMAC_TYPE_SHA256, NULL, 0));
	lws_genhmac_destroy(&m, out);
	setup_done("genhmac empty key teardown");
	CHECK("lws_genhmac_init", 0, "good: sha256",
	      lws_genhmac_init(&m, LWS_GENHMAC_TYPE_SHA256, key, sizeof(key)));
	CHECK("lws_genhmac_update", 0, "good: 100 bytes",
	      lws_genhmac_update(&m, data, sizeof(data)));
	CHECK("lws_genhmac_destroy", 0, "good: final",
	      lws_genhmac_destroy(&m, out));
}

static void
genaes_checks(void)
{
	uint8_t k1[32], k2[32], k_odd[10], iv[16], in[64], ct[80], pt[80],
		tag[32], stream[16];
	struct lws_gencrypto_keyelem e1, e2, eodd;
	struct lws_genaes_ctx a;
	size_t ivlen;

	fill(k1, sizeof(k1), 11);
	fill(k2, sizeof(k2), 99);
	fill(k_odd, sizeof(k_odd), 5);
	fill(iv, sizeof(iv), 21);
	fill(in, sizeof(in), 31);
	e1.buf = k1;
	e1.len = 16;
	e2.buf = k2;
	e2.len = 16;
	eodd.buf = k_odd;
	eodd.len = sizeof(k_odd);

	CHECK("lws_genaes_create", 1, "bad: 80-bit key",
	      lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_CBC, &eodd,
				LWS_GAESP_WITH_PADDING, NULL));

	/* CBC round trip; then decrypt with the wrong key (bad padding) */
	CHECK("lws_genaes_create", 0, "good: CBC enc",
	      lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_CBC, &e1,
				LWS_GAESP_WITH_PADDING, NULL));
	memcpy(stream, iv, 16);
	CHECK("lws_genaes_crypt", 0, "good: CBC enc",
	      lws_genaes_crypt(&a, in, 40, ct, stream, NULL, NULL, 0));
	CHECK("lws_genaes_destroy", 0, "good: CBC enc",
	      lws_genaes_destroy(&a, ct + 32, 16));
	CHECK("lws_genaes_create", 0, "good: CBC dec",
	      lws_genaes_create(&a, LWS_GAESO_DEC, LWS_GAESM_CBC, &e1,
				LWS_GAESP_WITH_PADDING, NULL));
	memcpy(stream, iv, 16);
	CHECK("lws_genaes_crypt", 0, "good: CBC dec",
	      lws_genaes_crypt(&a, ct, 48, pt, stream, NULL, NULL, 0));
	CHECK("lws_genaes_destroy", 0, "good: CBC dec",
	      lws_genaes_destroy(&a, tag, 16));
	lws_genaes_create(&a, LWS_GAESO_DEC, LWS_GAESM_CBC, &e2,
			  LWS_GAESP_WITH_PADDING, NULL);
	memcpy(stream, iv, 16);
	lws_genaes_crypt(&a, ct, 48, pt, stream, NULL, NULL, 0);
	setup_done("genaes wrong-key setup");
	CHECK("lws_genaes_destroy", 1, "bad: CBC dec, wrong key (padding)",
	      lws_genaes_destroy(&a, tag, 16));

	/* GCM: encrypt, then decrypt with a wrong tag */
	ivlen = 12;
	CHECK("lws_genaes_create", 0, "good: GCM enc",
	      lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_GCM, &e1,
				LWS_GAESP_NO_PADDING, NULL));
	memset(tag, 0, sizeof(tag));
	CHECK("lws_genaes_crypt", 0, "good: GCM AAD",
	      lws_genaes_crypt(&a, in, 16, NULL, iv, tag, &ivlen, 16));
	CHECK("lws_genaes_crypt", 0, "good: GCM enc",
	      lws_genaes_crypt(&a, in, 64, ct, iv, tag, &ivlen, 16));
	CHECK("lws_genaes_destroy", 0, "good: GCM enc (tag)",
	      lws_genaes_destroy(&a, tag, 16));
	tag[0] ^= 1;
	lws_genaes_create(&a, LWS_GAESO_DEC, LWS_GAESM_GCM, &e1,
			  LWS_GAESP_NO_PADDING, NULL);
	lws_genaes_crypt(&a, in, 16, NULL, iv, tag, &ivlen, 16);
	lws_genaes_crypt(&a, ct, 64, pt, iv, tag, &ivlen, 16);
	setup_done("genaes bad-tag setup");
	CHECK("lws_genaes_destroy", 1, "bad: GCM dec, wrong tag",
	      lws_genaes_destroy(&a, tag, 16));

	/* CBC without padding, input not a multiple of the block size */
	lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_CBC, &e1,
			  LWS_GAESP_NO_PADDING, NULL);
	memcpy(stream, iv, 16);
	lws_genaes_crypt(&a, in, 40, ct, stream, NULL, NULL, 0);
	setup_done("genaes cbc no-padding setup");
	CHECK("lws_genaes_destroy", 1, "bad: CBC enc, no padding, 40 bytes",
	      lws_genaes_destroy(&a, ct + 32, 16));

	/* GCM asked for a 0-byte tag: encrypt, then decrypt */
	ivlen = 12;
	lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_GCM, &e1,
			  LWS_GAESP_NO_PADDING, NULL);
	lws_genaes_crypt(&a, in, 64, ct, iv, tag, &ivlen, 0);
	setup_done("genaes gcm 0-tag setup");
	CHECK("lws_genaes_destroy", 1, "bad: GCM enc, 0-byte tag",
	      lws_genaes_destroy(&a, tag, 16));
	lws_genaes_create(&a, LWS_GAESO_DEC, LWS_GAESM_GCM, &e1,
			  LWS_GAESP_NO_PADDING, NULL);
	setup_done("genaes gcm 0-tag dec setup");
	CHECK("lws_genaes_crypt", 1, "bad: GCM dec, 0-byte tag",
	      lws_genaes_crypt(&a, ct, 64, pt, iv, tag, &ivlen, 0));
	lws_genaes_destroy(&a, tag, 16);
	setup_done("genaes gcm 0-tag teardown");

	/* GCM with a zero-length IV */
	ivlen = 0;
	lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_GCM, &e1,
			  LWS_GAESP_NO_PADDING, NULL);
	setup_done("genaes zero-iv setup");
	CHECK("lws_genaes_crypt", 1, "bad: GCM, zero-length IV",
	      lws_genaes_crypt(&a, in, 64, ct, iv, tag, &ivlen, 16));
	lws_genaes_destroy(&a, tag, 16);
	setup_done("genaes zero-iv teardown");

	/* key wrap: unwrap with the wrong key fails its integrity check */
	CHECK("lws_genaes_create", 0, "good: KW enc",
	      lws_genaes_create(&a, LWS_GAESO_ENC, LWS_GAESM_KW, &e1,
				LWS_GAESP_NO_PADDING, NULL));
	CHECK("lws_genaes_crypt", 0, "good: KW wrap",
	      lws_genaes_crypt(&a, in, 32, ct, NULL, NULL, NULL, 0));
	CHECK("lws_genaes_destroy", 0, "good: KW enc",
	      lws_genaes_destroy(&a, NULL, 0));
	lws_genaes_create(&a, LWS_GAESO_DEC, LWS_GAESM_KW, &e2,
			  LWS_GAESP_NO_PADDING, NULL);
	setup_done("genaes kw setup");
	CHECK("lws_genaes_crypt", 1, "bad: KW unwrap, wrong key",
	      lws_genaes_crypt(&a, ct, 40, pt, NULL, NULL, NULL, 0));
	lws_genaes_destroy(&a, NULL, 0);
	setup_done("genaes kw teardown");
}

static void
genrsa_checks(void)
{
	struct lws_gencrypto_keyelem el[LWS_GENCRYPTO_RSA_KEYEL_COUNT],
				     el_empty[LWS_GENCRYPTO_RSA_KEYEL_COUNT];
	uint8_t in[300], ct[512], pt[512], sig[512], hash[32];
	struct lws_genrsa_ctx r, r2;
	int n;

	memset(el, 0, sizeof(el));
	memset(el_empty, 0, sizeof(el_empty));
	fill(in, sizeof(in), 41);
	fill(hash, sizeof(hash), 42);

	CHECK("lws_genrsa_new_keypair", 1, "bad: 128 bits",
	      lws_genrsa_new_keypair(NULL, &r, LGRSAM_PKCS1_1_5, el, 128));
	CHECK("lws_genrsa_new_keypair", 0, "good: 2048 bits",
	      lws_genrsa_new_keypair(NULL, &r, LGRSAM_PKCS1_1_5, el, 2048));

	CHECK("lws_genrsa_public_encrypt", 0, "good: 32 bytes",
	      n = lws_genrsa_public_encrypt(&r, in, 32, ct));
	CHECK("lws_genrsa_private_decrypt", 0, "good: its ciphertext",
	      lws_genrsa_private_decrypt(&r, ct, (size_t)(n > 0 ? n : 256),
					 pt, sizeof(pt)));
	CHECK("lws_genrsa_public_encrypt", 1, "bad: 300 bytes (too long)",
	      lws_genrsa_public_encrypt(&r, in, 300, ct));
	fill(ct, 256, 77);
	CHECK("lws_genrsa_private_decrypt", 1, "bad: garbage ciphertext",
	      lws_genrsa_private_decrypt(&r, ct, 256, pt, sizeof(pt)));

	CHECK("lws_genrsa_private_encrypt", 0, "good: 32 bytes",
	      n = lws_genrsa_private_encrypt(&r, in, 32, ct));
	CHECK("lws_genrsa_public_decrypt", 0, "good: its ciphertext",
	      lws_genrsa_public_decrypt(&r, ct, (size_t)(n > 0 ? n : 256),
					pt, sizeof(pt)));
	CHECK("lws_genrsa_private_encrypt", 1, "bad: 300 bytes (too long)",
	      lws_genrsa_private_encrypt(&r, in, 300, ct));
	fill(ct, 256, 78);
	CHECK("lws_genrsa_public_decrypt", 1, "bad: garbage ciphertext",
	      lws_genrsa_public_decrypt(&r, ct, 256, pt, sizeof(pt)));

	CHECK("lws_genrsa_hash_sign", 0, "good: PKCS#1 v1.5 sha256",
	      n = lws_genrsa_hash_sign(&r, hash, LWS_GENHASH_TYPE_SHA256, sig,
				       sizeof(sig)));
	CHECK("lws_genrsa_hash_sig_verify", 0, "good: its signature",
	      lws_genrsa_hash_sig_verify(&r, hash, LWS_GENHASH_TYPE_SHA256, sig,
					 (size_t)(n > 0 ? n : 256)));
	sig[10] ^= 0x40;
	CHECK("lws_genrsa_hash_sig_verify", 1, "bad: corrupted signature",
	      lws_genrsa_hash_sig_verify(&r, hash, LWS_GENHASH_TYPE_SHA256, sig,
					 (size_t)(n > 0 ? n : 256)));

	/* the same key, through lws_genrsa_create(), in PSS mode */
	CHECK("lws_genrsa_create", 0, "good: generated key, PSS mode",
	      lws_genrsa_create(&r2, el, NULL, LGRSAM_PKCS1_OAEP_PSS,
				LWS_GENHASH_TYPE_SHA256));
	CHECK("lws_genrsa_hash_sign", 1, "bad?: PSS sha256 (fails in 4.3.5)",
	      lws_genrsa_hash_sign(&r2, hash, LWS_GENHASH_TYPE_SHA256, sig,
				   sizeof(sig)));
	CHECK("lws_genrsa_hash_sig_verify", 1, "bad: PSS, garbage signature",
	      lws_genrsa_hash_sig_verify(&r2, hash, LWS_GENHASH_TYPE_SHA256, ct,
					 256));
	lws_genrsa_destroy(&r2);
	setup_done("genrsa pss teardown");

	CHECK("lws_genrsa_create", 1, "bad: empty key elements",
	      lws_genrsa_create(&r2, el_empty, NULL, LGRSAM_PKCS1_1_5,
				LWS_GENHASH_TYPE_SHA256));
	CHECK("lws_genrsa_public_encrypt", 1, "bad: with an empty key",
	      lws_genrsa_public_encrypt(&r2, in, 32, ct));
	lws_genrsa_destroy(&r2);
	setup_done("genrsa empty teardown");

	/* a 512-bit key cannot sign a SHA-512 digest with PKCS#1 v1.5 */
	lws_genrsa_destroy(&r);
	lws_genrsa_destroy_elements(el);
	memset(el, 0, sizeof(el));
	CHECK("lws_genrsa_new_keypair", 0, "good: 512 bits",
	      lws_genrsa_new_keypair(NULL, &r, LGRSAM_PKCS1_1_5, el, 512));
	CHECK("lws_genrsa_hash_sign", 1, "bad: sha512 with a 512-bit key",
	      lws_genrsa_hash_sign(&r, in, LWS_GENHASH_TYPE_SHA512, sig,
				   sizeof(sig)));
	lws_genrsa_destroy(&r);
	lws_genrsa_destroy_elements(el);
	setup_done("genrsa teardown");
}

static void
genec_checks(void)
{
	struct lws_gencrypto_keyelem el[LWS_GENCRYPTO_EC_KEYEL_COUNT],
				     el2[LWS_GENCRYPTO_EC_KEYEL_COUNT],
				     el_tmp[LWS_GENCRYPTO_EC_KEYEL_COUNT],
				     mix[LWS_GENCRYPTO_EC_KEYEL_COUNT];
	uint8_t hash[32], sig[64], ss[128], xy[2][32];
	struct lws_genec_ctx c, c2, d;
	int ss_len;

	memset(el, 0, sizeof(el));
	memset(el2, 0, sizeof(el2));
	memset(el_tmp, 0, sizeof(el_tmp));
	fill(hash, sizeof(hash), 51);

	/* ECDSA */
	lws_genecdsa_create(&c, NULL, NULL);
	CHECK("lws_genecdsa_new_keypair", 1, "bad: unknown curve",
	      lws_genecdsa_new_keypair(&c, "P-999", el));
	CHECK("lws_genecdsa_new_keypair", 0, "good: P-256",
	      lws_genecdsa_new_keypair(&c, "P-256", el));
	CHECK("lws_genecdsa_hash_sign_jws", 0, "good: sha256",
	      lws_genecdsa_hash_sign_jws(&c, hash, LWS_GENHASH_TYPE_SHA256, 256,
					 sig, sizeof(sig)));
	CHECK("lws_genecdsa_hash_sig_verify_jws", 0, "good: its signature",
	      lws_genecdsa_hash_sig_verify_jws(&c, hash, LWS_GENHASH_TYPE_SHA256,
					       256, sig, sizeof(sig)));
	sig[5] ^= 0x10;
	CHECK("lws_genecdsa_hash_sig_verify_jws", 1, "bad: corrupted signature",
	      lws_genecdsa_hash_sig_verify_jws(&c, hash, LWS_GENHASH_TYPE_SHA256,
					       256, sig, sizeof(sig)));
	memset(sig, 0, sizeof(sig));
	CHECK("lws_genecdsa_hash_sig_verify_jws", 1, "bad: all-zero signature",
	      lws_genecdsa_hash_sig_verify_jws(&c, hash, LWS_GENHASH_TYPE_SHA256,
					       256, sig, sizeof(sig)));
	lws_genec_destroy(&c);
	setup_done("genecdsa teardown");

	lws_genecdsa_create(&c, NULL, NULL);
	CHECK("lws_genecdsa_set_key", 0, "good: generated P-256 key",
	      lws_genecdsa_set_key(&c, el));
	lws_genec_destroy(&c);

	lws_genecdsa_create(&c2, NULL, NULL);
	lws_genecdsa_new_keypair(&c2, "P-256", el2);
	lws_genec_destroy(&c2);
	setup_done("second P-256 key");

	/* public point of one key, private scalar of another */
	memcpy(mix, el, sizeof(mix));
	mix[LWS_GENCRYPTO_EC_KEYEL_D] = el2[LWS_GENCRYPTO_EC_KEYEL_D];
	lws_genecdsa_create(&c, NULL, NULL);
	CHECK("lws_genecdsa_set_key", 1, "bad: private key of another key",
	      lws_genecdsa_set_key(&c, mix));
	lws_genec_destroy(&c);

	/* a point that is not on the curve */
	fill(xy[0], 32, 1);
	fill(xy[1], 32, 2);
	memcpy(mix, el, sizeof(mix));
	mix[LWS_GENCRYPTO_EC_KEYEL_X].buf = xy[0];
	mix[LWS_GENCRYPTO_EC_KEYEL_Y].buf = xy[1];
	mix[LWS_GENCRYPTO_EC_KEYEL_D].len = 0;
	lws_genecdsa_create(&c, NULL, NULL);
	CHECK("lws_genecdsa_set_key", 1, "bad: point not on the curve",
	      lws_genecdsa_set_key(&c, mix));
	lws_genec_destroy(&c);
	setup_done("genecdsa set_key teardown");

	/* ECDH */
	lws_genecdh_create(&d, NULL, NULL);
	CHECK("lws_genecdh_new_keypair", 0, "good: P-256, ours",
	      lws_genecdh_new_keypair(&d, LDHS_OURS, "P-256", el_tmp));
	lws_genec_destroy_elements(el_tmp);
	memcpy(mix, el2, sizeof(mix));
	mix[LWS_GENCRYPTO_EC_KEYEL_D] = el[LWS_GENCRYPTO_EC_KEYEL_D];
	CHECK("lws_genecdh_set_key", 1, "bad: private key of another key",
	      lws_genecdh_set_key(&d, mix, LDHS_THEIRS));
	memcpy(mix, el2, sizeof(mix));
	mix[LWS_GENCRYPTO_EC_KEYEL_D].len = 0;
	CHECK("lws_genecdh_set_key", 0, "good: P-256 public key, theirs",
	      lws_genecdh_set_key(&d, mix, LDHS_THEIRS));
	ss_len = sizeof(ss);
	CHECK("lws_genecdh_compute_shared_secret", 0, "good: P-256 both",
	      lws_genecdh_compute_shared_secret(&d, ss, &ss_len));
	lws_genec_destroy(&d);
	setup_done("ecdh teardown");

	/* theirs on another curve than ours */
	lws_genecdh_create(&d, NULL, NULL);
	lws_genecdh_new_keypair(&d, LDHS_OURS, "P-256", el_tmp);
	lws_genec_destroy_elements(el_tmp);
	lws_genecdh_new_keypair(&d, LDHS_THEIRS, "P-384", el_tmp);
	setup_done("ecdh mixed-curve setup");
	ss_len = sizeof(ss);
	CHECK("lws_genecdh_compute_shared_secret", 1,
	      "bad: ours P-256, theirs P-384",
	      lws_genecdh_compute_shared_secret(&d, ss, &ss_len));
	lws_genec_destroy(&d);
	lws_genec_destroy_elements(el_tmp);

	lws_genec_destroy_elements(el);
	lws_genec_destroy_elements(el2);
	setup_done("genec teardown");
}
#endif

/* ---- output ------------------------------------------------------------------ */

struct api_sum {
	const char	*api;
	int		calls, bad_calls, entries, leaking_calls;
	int		entries_bad, entries_good, plant_lost;
};

static int
summarise(struct api_sum *s, int max)
{
	int n, i, ns = 0;

	for (n = 0; n < n_checks; n++) {
		for (i = 0; i < ns; i++)
			if (!strcmp(s[i].api, checks[n].api))
				break;
		if (i == ns) {
			if (ns == max)
				th_die("too many APIs");
			memset(&s[ns], 0, sizeof(s[ns]));
			s[ns++].api = checks[n].api;
		}
		s[i].calls++;
		s[i].bad_calls += checks[n].bad_input;
		s[i].entries += checks[n].entries;
		s[i].leaking_calls += !!checks[n].entries;
		s[i].plant_lost += checks[n].plant_lost;
		if (checks[n].bad_input)
			s[i].entries_bad += checks[n].entries;
		else
			s[i].entries_good += checks[n].entries;
	}

	return ns;
}

static int
report(FILE *f)
{
	struct api_sum s[MAX_APIS];
	int ns = summarise(s, MAX_APIS), n, total = 0, leaking = 0, lost = 0;
	th_json_t j;

	for (n = 0; n < ns; n++) {
		total += s[n].entries;
		leaking += !!s[n].entries;
		lost += s[n].plant_lost;
	}

	th_json_init(&j, f);
	th_json_obj_open(&j, NULL);
	th_json_str(&j, "tool", TOOL);
	th_json_str(&j, "lws_version", lws_get_library_version());
	th_json_str(&j, "openssl", OpenSSL_version(OPENSSL_VERSION));
	th_json_int(&j, "calls", n_checks);
	th_json_int(&j, "entries_total", total);
	th_json_int(&j, "apis_leaking", leaking);
	th_json_bool(&j, "clean", !total);
	th_json_int(&j, "setup_entries_not_counted", setup_entries);
	th_json_bool(&j, "plant_before", opt.plant_before);
	if (opt.plant_before)
		th_json_int(&j, "calls_that_removed_the_plant", lost);

	th_json_arr_open(&j, "leaking");
	for (n = 0; n < ns; n++)
		if (s[n].entries)
			th_json_str(&j, NULL, s[n].api);
	th_json_arr_close(&j);

	th_json_obj_open(&j, "apis");
	for (n = 0; n < ns; n++) {
		th_json_obj_open(&j, s[n].api);
		th_json_int(&j, "calls", s[n].calls);
		th_json_int(&j, "bad_input_calls", s[n].bad_calls);
		th_json_int(&j, "entries", s[n].entries);
		th_json_int(&j, "entries_bad_input", s[n].entries_bad);
		th_json_int(&j, "entries_good_input", s[n].entries_good);
		th_json_int(&j, "calls_that_left_entries", s[n].leaking_calls);
		if (opt.plant_before)
			th_json_int(&j, "calls_that_removed_the_plant",
				    s[n].plant_lost);
		th_json_obj_close(&j);
	}
	th_json_obj_close(&j);

	th_json_obj_open(&j, "skipped");
	for (n = 0; n < n_skips; n++)
		th_json_str(&j, skips[n].api, skips[n].why);
	th_json_obj_close(&j);

	th_json_arr_open(&j, "calls_detail");
	for (n = 0; n < n_checks; n++) {
		th_json_obj_open(&j, NULL);
		th_json_str(&j, "api", checks[n].api);
		th_json_str(&j, "case", checks[n].what);
		th_json_int(&j, "rc", checks[n].rc);
		th_json_int(&j, "entries", checks[n].entries);
		if (checks[n].entries)
			th_json_str(&j, "first", checks[n].first);
		if (checks[n].plant_lost)
			th_json_bool(&j, "removed_the_plant", 1);
		th_json_obj_close(&j);
	}
	th_json_arr_close(&j);
	th_json_obj_close(&j);

	return !!total;
}

/* ---- main ------------------------------------------------------------------- */

static void
usage(FILE *f)
{
	fprintf(f,
"usage: " TOOL " --pki DIR [options]\n"
"\n"
"Calls lws's non-I/O OpenSSL APIs (lws_x509_*, lws_tls_vhost_cert_info,\n"
"lws_tls_session_dump_save/load, lws_gen*) with bad and with good input,\n"
"each from an empty OpenSSL error queue, and reports what each call left on\n"
"the queue.  APIs the library was built without are reported as skipped.\n"
"\n"
"  --pki DIR        test PKI made by test-apps/stress/gen-certs.sh DIR\n"
"                   (ca.pem, server.pem/.key, client.pem, server-rsa.pem/.key)\n"
"  --json FILE      write the JSON result here ('-' = stdout, the default)\n"
"  --only PREFIX    only the APIs whose name starts with PREFIX\n"
"                   (e.g. lws_x509_, lws_tls_session_dump_, lws_gen)\n"
"  --plant-before   push one error of our own before each call (as an\n"
"                   application may have queued): it must still be there\n"
"                   after the call; calls that removed it are reported\n"
"                   (not counted in the exit status)\n"
"  --verbose        one line per call on stderr (else only calls that left\n"
"                   entries or removed the plant)\n"
"  --debug LEVELS   lws log levels, e.g. err,warn (default: none; bad\n"
"                   input makes lws log errors)\n"
"  --help           this text\n"
"\n"
"Exit status: 0 no API left an entry on the queue, 1 some API did,\n"
"2 usage or setup error.\n");
}

int
main(int argc, char **argv)
{
	enum { O_PKI = 256, O_JSON, O_ONLY, O_PLANT, O_VERBOSE, O_DEBUG, O_HELP };
	static const struct option lo[] = {
		{ "pki", required_argument, NULL, O_PKI },
		{ "json", required_argument, NULL, O_JSON },
		{ "only", required_argument, NULL, O_ONLY },
		{ "plant-before", no_argument, NULL, O_PLANT },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "debug", required_argument, NULL, O_DEBUG },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	struct lws_context_creation_info info;
	struct lws_context *cx;
	struct lws_vhost *vh, *srv_vh;
	char cert[1024], key[1024];
	FILE *out;
	int c, rc;

	th_set_progname(TOOL);
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (c) {
		case O_PKI: opt.pki = optarg; break;
		case O_JSON: opt.json_path = optarg; break;
		case O_ONLY: opt.only = optarg; break;
		case O_PLANT: opt.plant_before = 1; break;
		case O_VERBOSE: opt.verbose = 1; break;
		case O_DEBUG:
			opt.debug = th_lws_parse_debug("--debug", optarg);
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		default:
			th_die_bad_option(c, argv);
		}
	}
	th_die_extra_args(argc, argv);
	if (!opt.pki)
		th_die("--pki DIR is needed (see --help)");
	snprintf(cert, sizeof(cert), "%s/server.pem", opt.pki);
	snprintf(key, sizeof(key), "%s/server.key", opt.pki);
	th_lws_check_readable("--pki", cert);
	th_lws_check_readable("--pki", key);
	out = th_open_output(opt.json_path);

	th_lws_log_init(opt.debug);

	/* a client vhost (the session cache lives there)... */
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_EXPLICIT_VHOSTS;
	cx = lws_create_context(&info);
	if (!cx)
		th_die("lws_create_context failed");
	info.vhost_name = "client";
	vh = lws_create_vhost(cx, &info);
	if (!vh)
		th_die("lws_create_vhost (client) failed");
	/* ...and a server vhost with the test certificate */
	info.vhost_name = "server";
	info.port = 0;
	info.iface = "127.0.0.1";
	info.ssl_cert_filepath = cert;
	info.ssl_private_key_filepath = key;
	srv_vh = lws_create_vhost(cx, &info);
	if (!srv_vh)
		th_die("lws_create_vhost (server, %s) failed", cert);
	setup_done("context and vhosts");

	x509_checks();
	vhost_cert_info_checks(srv_vh);

#if defined(LWS_WITH_TLS_SESSIONS)
	session_checks(vh);
#else
	skip("lws_tls_session_dump_load", "built without LWS_WITH_TLS_SESSIONS");
	skip("lws_tls_session_dump_save", "built without LWS_WITH_TLS_SESSIONS");
#endif

#if defined(LWS_WITH_GENCRYPTO)
	genhash_checks();
	genaes_checks();
	genrsa_checks();
	genec_checks();
#else
	skip("lws_genhash", "built without LWS_WITH_GENCRYPTO");
	skip("lws_genhmac", "built without LWS_WITH_GENCRYPTO");
	skip("lws_genaes", "built without LWS_WITH_GENCRYPTO");
	skip("lws_genrsa_*", "built without LWS_WITH_GENCRYPTO");
	skip("lws_genecdsa_*", "built without LWS_WITH_GENCRYPTO");
	skip("lws_genecdh_*", "built without LWS_WITH_GENCRYPTO");
#endif

	/*
	 * 4.3.5 frees a vhost's cached sessions in lws_vhost_destroy() but
	 * not when the context destroys the vhost: destroy it first, so
	 * sanitizer runs see no leak that is not ours to find here.
	 */
	lws_vhost_destroy(vh);
	lws_context_destroy(cx);

	if (!n_checks)
		th_die("nothing was checked (--only '%s' matches no API)",
		       opt.only ? opt.only : "");

	rc = report(out);
	if (out != stdout)
		fclose(out);

	return rc;
}
