# lws-hardened: feature checks for the wolfSSL backend
#
# lws probes OpenSSL features by linking against a function name.  For
# wolfSSL it prefixed the OpenSSL name with "wolfSSL_", which only sometimes
# gives the name wolfSSL exports: SSL_set_alpn_protos is wolfSSL_set_alpn_protos,
# not wolfSSL_SSL_set_alpn_protos, and TLS_client_method is wolfTLS_client_method.
# ALPN (hence h2 over TLS), the session and certificate APIs were reported
# missing although wolfSSL has them.
#
# Here each feature is looked up by its OpenSSL name through wolfSSL's
# compatibility headers, which map it to whatever wolfSSL exports, and linked
# against libwolfssl: a feature is present only if that compiles and links.
# The results are cached under lws's names, so lws's own checks that follow
# (which skip a variable already defined) keep them.  A feature wolfSSL does
# not have (SSL_set_info_callback, per connection) stays missing.
#
# Included from lib/tls/CMakeLists.txt with CMAKE_REQUIRED_INCLUDES and
# CMAKE_REQUIRED_LIBRARIES already set to wolfSSL's.

include(CheckCSourceCompiles)

set(_lwsh_wolfssl_headers "
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/openssl/ssl.h>
#include <wolfssl/openssl/evp.h>
#include <wolfssl/openssl/hmac.h>
#include <wolfssl/openssl/rsa.h>
#include <wolfssl/openssl/ec.h>
#include <wolfssl/openssl/ecdsa.h>
#include <wolfssl/openssl/bn.h>
#include <wolfssl/openssl/x509v3.h>
")

# lws's variable, then the OpenSSL name it probes
set(_lwsh_wolfssl_functions
	LWS_HAVE_SSL_SET_INFO_CALLBACK			SSL_set_info_callback
	LWS_HAVE_X509_VERIFY_PARAM_set1_host		X509_VERIFY_PARAM_set1_host
	LWS_HAVE_X509_VERIFY_PARAM_set1_host_sym	X509_VERIFY_PARAM_set1_host
	LWS_HAVE_RSA_SET0_KEY				RSA_set0_key
	LWS_HAVE_X509_get_key_usage			X509_get_key_usage
	LWS_HAVE_SSL_CTX_EVP_PKEY_new_raw_private_key	SSL_CTX_EVP_PKEY_new_raw_private_key
	LWS_HAVE_SSL_CTX_get0_certificate		SSL_CTX_get0_certificate
	LWS_HAVE_SSL_get0_alpn_selected			SSL_get0_alpn_selected
	LWS_HAVE_SSL_set_alpn_protos			SSL_set_alpn_protos
	LWS_HAVE_EVP_aes_128_cfb8			EVP_aes_128_cfb8
	LWS_HAVE_EVP_aes_128_cfb128			EVP_aes_128_cfb128
	LWS_HAVE_EVP_aes_192_cfb8			EVP_aes_192_cfb8
	LWS_HAVE_EVP_aes_192_cfb128			EVP_aes_192_cfb128
	LWS_HAVE_EVP_aes_256_cfb8			EVP_aes_256_cfb8
	LWS_HAVE_EVP_aes_256_cfb128			EVP_aes_256_cfb128
	LWS_HAVE_EVP_aes_128_xts			EVP_aes_128_xts
	LWS_HAVE_EVP_aes_128_ofb			EVP_aes_128_ofb
	LWS_HAVE_EVP_aes_128_ecb			EVP_aes_128_ecb
	LWS_HAVE_EVP_aes_128_ctr			EVP_aes_128_ctr
	LWS_HAVE_RSA_verify_pss_mgf1			RSA_verify_pss_mgf1
	LWS_HAVE_HMAC_CTX_new				HMAC_CTX_new
	LWS_HAVE_SSL_CTX_set_ciphersuites		SSL_CTX_set_ciphersuites
	LWS_HAVE_EVP_PKEY_new_raw_private_key		EVP_PKEY_new_raw_private_key
	LWS_HAVE_SSL_SESSION_set_time			SSL_SESSION_set_time
	LWS_HAVE_SSL_SESSION_up_ref			SSL_SESSION_up_ref
	LWS_HAVE_EC_KEY_new_by_curve_name		EC_KEY_new_by_curve_name
	LWS_HAVE_ECDSA_SIG_set0				ECDSA_SIG_set0
	LWS_HAVE_BN_bn2binpad				BN_bn2binpad
	LWS_HAVE_EVP_aes_128_wrap			EVP_aes_128_wrap
	LWS_HAVE_EC_POINT_get_affine_coordinates	EC_POINT_get_affine_coordinates
	LWS_HAVE_SSL_CTX_load_verify_file		SSL_CTX_load_verify_file
	LWS_HAVE_SSL_CTX_load_verify_dir		SSL_CTX_load_verify_dir
	LWS_HAVE_TLS_CLIENT_METHOD			TLS_client_method
	LWS_HAVE_TLSV1_2_CLIENT_METHOD			TLSv1_2_client_method)

set(CMAKE_REQUIRED_QUIET ON)
set(_lwsh_found "")
set(_lwsh_missing "")
list(LENGTH _lwsh_wolfssl_functions _n)
math(EXPR _last "${_n} - 1")
foreach(_i RANGE 0 ${_last} 2)
	math(EXPR _j "${_i} + 1")
	list(GET _lwsh_wolfssl_functions ${_i} _var)
	list(GET _lwsh_wolfssl_functions ${_j} _fn)
	# an object-like macro over an exported function, or the function:
	# taking its address needs both the declaration and the symbol
	check_c_source_compiles("${_lwsh_wolfssl_headers}
int main(void) { void (*volatile p)(void) = (void (*)(void))${_fn}; return p == 0; }
" ${_var})
	if (${_var})
		list(APPEND _lwsh_found ${_fn})
	else()
		list(APPEND _lwsh_missing ${_fn})
	endif()
endforeach()

# lws's test apps take this one to mean "CRLs can be loaded", which also
# needs X509_load_cert_crl_file()
check_c_source_compiles("${_lwsh_wolfssl_headers}
int main(void) { void (*volatile p)(void) = (void (*)(void))SSL_CTX_set1_param;
	void (*volatile q)(void) = (void (*)(void))X509_load_cert_crl_file; return !p || !q; }
" LWS_HAVE_SSL_CTX_set1_param)
if (NOT LWS_HAVE_SSL_CTX_set1_param)
	list(APPEND _lwsh_missing "SSL_CTX_set1_param+X509_load_cert_crl_file")
endif()

# the three lws checks by compilation, with wolfSSL's headers in their order
check_c_source_compiles("${_lwsh_wolfssl_headers}
int main(void) { STACK_OF(X509) *c = NULL; SSL_CTX *ctx = NULL; return (int)SSL_CTX_get_extra_chain_certs_only(ctx, &c); }
" LWS_HAVE_SSL_EXTRA_CHAIN_CERTS)
check_c_source_compiles("${_lwsh_wolfssl_headers}
int main(void) { EVP_MD_CTX *md_ctx = NULL; EVP_MD_CTX_free(md_ctx); return 0; }
" LWS_HAVE_EVP_MD_CTX_free)
check_c_source_compiles("${_lwsh_wolfssl_headers}
int main(void) { OPENSSL_STACK *x = NULL; return !x; }
" LWS_HAVE_OPENSSL_STACK)
unset(CMAKE_REQUIRED_QUIET)

list(REMOVE_DUPLICATES _lwsh_found)
list(REMOVE_DUPLICATES _lwsh_missing)
string(REPLACE ";" " " _lwsh_found "${_lwsh_found}")
string(REPLACE ";" " " _lwsh_missing "${_lwsh_missing}")
message(STATUS "wolfSSL has: ${_lwsh_found}")
message(STATUS "wolfSSL lacks: ${_lwsh_missing}")
