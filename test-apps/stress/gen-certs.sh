#!/bin/sh
# gen-certs.sh DIR: throwaway test PKI for the stress tools (never commit it).
#
#   DIR/ca.pem  DIR/ca.key                     self-signed CA (ECDSA P-256)
#   DIR/server.pem  DIR/server.key             CN=localhost, SAN localhost,
#                                              127.0.0.1, ::1 (ECDSA P-256)
#   DIR/client.pem  DIR/client.key             CN=lws-stress-client (clientAuth)
#   DIR/server-rsa.pem  DIR/server-rsa.key     same names, RSA 2048 (reload tests)
#   DIR/server-sec1.key                        server.key in SEC1 form ("BEGIN
#                                              EC PRIVATE KEY"): lws's memory
#                                              reload probes RSA first with it
#   DIR/other.key                              a P-256 key matching no cert
#   DIR/server-big.pem  DIR/server-big.key     like server.pem, about 11 KB of
#   DIR/client-big.pem  DIR/client-big.key     DER (360 padding DNS names), a
#                                              handshake flight larger than a
#                                              tiny socket send buffer
#
# Needs the openssl CLI (1.1.1 or 3.x).  Certificates are valid for 30 days.
set -eu

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

umask 077
days=30

ec_key() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-pkeyopt ec_param_enc:named_curve -out "$1" 2>/dev/null
}

cat > ext-server.cnf <<EOT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
EOT
cat > ext-client.cnf <<EOT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
EOT
cat > ext-ca.cnf <<EOT
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOT

ec_key ca.key
openssl req -new -key ca.key -subj "/CN=lws-stress test CA" -out ca.csr
openssl x509 -req -in ca.csr -signkey ca.key -days "$days" -sha256 \
	-extfile ext-ca.cnf -out ca.pem 2>/dev/null

sign() { # name cn extfile
	openssl req -new -key "$1.key" -subj "/CN=$2" -out "$1.csr"
	openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key \
		-CAcreateserial -days "$days" -sha256 -extfile "$3" \
		-out "$1.pem" 2>/dev/null
}

# DNS:pad-000.lws-hardened.invalid, ... (one line: openssl's config syntax)
pad_names() {
	i=0
	while [ $i -lt 360 ]; do
		printf ', DNS:pad-%03d.lws-hardened.invalid' $i
		i=$((i + 1))
	done
}
pad=$(pad_names)
cat > ext-server-big.cnf <<EOT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1$pad
EOT
cat > ext-client-big.cnf <<EOT
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
subjectAltName = DNS:lws-stress-client$pad
EOT

ec_key server.key
sign server localhost ext-server.cnf
ec_key server-big.key
sign server-big localhost ext-server-big.cnf
ec_key client-big.key
sign client-big lws-stress-client ext-client-big.cnf
ec_key client.key
sign client lws-stress-client ext-client.cnf
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out server-rsa.key 2>/dev/null
sign server-rsa localhost ext-server.cnf
ec_key other.key
openssl ec -in server.key -out server-sec1.key 2>/dev/null

rm -f ./*.csr ./*.cnf ca.srl
openssl verify -CAfile ca.pem server.pem client.pem server-rsa.pem \
	server-big.pem client-big.pem >/dev/null
chmod 644 ./*.pem
echo "gen-certs: wrote test PKI to $(pwd)"
