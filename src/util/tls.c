/* Certificate verification for libetpan's TLS streams (see tls.h). The
 * chain comes from mailstream_get_certificate_chain(), the public way to
 * reach the peer's certificates in both of libetpan's TLS builds, and is
 * checked with a GnuTLS trust list: CA, validity, host name, purpose. */
#include "compat.h"

#include <arpa/inet.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tls.h"
#include "xalloc.h"

/* More certificates than this in a chain is not a real server. */
#define TLS_MAX_CHAIN 16

static bool
is_ip_literal(const char *host)
{
	unsigned char addr[16];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

void
tls_sni_callback(struct mailstream_ssl_context *ctx, void *data)
{
	const char *host = data;

	if (ctx && host && *host && !is_ip_literal(host))
		mailstream_ssl_set_server_name(ctx, (char *)host);
}

/* Says why, in words, from GnuTLS's status bits. */
static void
describe(unsigned status, const char *host, char *out, size_t n)
{
	static const struct {
		unsigned bit;
		const char *what;
	} reasons[] = {
		{ GNUTLS_CERT_SIGNER_NOT_FOUND, "issued by an unknown CA" },
		{ GNUTLS_CERT_SIGNER_NOT_CA, "its issuer is not a CA" },
		{ GNUTLS_CERT_EXPIRED, "expired" },
		{ GNUTLS_CERT_NOT_ACTIVATED, "not yet valid" },
		{ GNUTLS_CERT_REVOKED, "revoked" },
		{ GNUTLS_CERT_INSECURE_ALGORITHM, "signed with an insecure algorithm" },
		{ GNUTLS_CERT_SIGNATURE_FAILURE, "bad signature" },
		{ GNUTLS_CERT_PURPOSE_MISMATCH, "not for a TLS server" },
	};
	size_t len = 0;

	out[0] = '\0';
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		len += (size_t)snprintf(out, n, "the certificate is not for host '%s'", host);
	for (size_t i = 0; i < ARRAY_SIZE(reasons) && len < n; i++)
		if (status & reasons[i].bit)
			len += (size_t)snprintf(out + len, n - len, "%s%s", len ? ", " : "",
						reasons[i].what);
	if (!out[0])
		snprintf(out, n, "verification failed (status 0x%x)", status);
}

/* What to do about it, for the two a configuration can mend. */
static const char *
next_step(unsigned status)
{
	if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
		return ": use the host name the certificate names in the url";
	if (status & GNUTLS_CERT_SIGNER_NOT_FOUND)
		return ": set ca_file to the CA that issued it";
	return "";
}

/* The server's certificates (DER, from chain) into certs, at most
 * TLS_MAX_CHAIN; *ncerts counts those to deinit, also on failure. */
static int
import_chain(carray *chain, gnutls_x509_crt_t *certs, unsigned *ncerts, const char *service,
	     const char *host, struct err *e)
{
	for (unsigned i = 0; i < carray_count(chain); i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t d = { (unsigned char *)der->str, (unsigned)der->len };

		if (*ncerts == TLS_MAX_CHAIN)
			break;
		if (gnutls_x509_crt_init(&certs[*ncerts]) < 0)
			return -1;
		if (gnutls_x509_crt_import(certs[*ncerts], &d, GNUTLS_X509_FMT_DER) < 0) {
			gnutls_x509_crt_deinit(certs[*ncerts]);
			err_set(e, EXIT_UNAVAILABLE, "%s server '%s': certificate not trusted: "
				"it cannot be parsed", service, host);
			return -1;
		}
		(*ncerts)++;
	}
	return 0;
}

/* The CAs to check against: those of ca_file, else the system's. *tl is
 * set as soon as it is made (the caller frees it). */
static int
open_trust_list(gnutls_x509_trust_list_t *tl, const char *ca_file, const char *service,
		const char *host, struct err *e)
{
	int r;

	if (gnutls_x509_trust_list_init(tl, 0) < 0) {
		*tl = NULL;
		return err_set(e, EXIT_SOFTWARE, "cannot set up certificate checks");
	}
	if (ca_file) {
		r = gnutls_x509_trust_list_add_trust_file(*tl, ca_file, NULL, GNUTLS_X509_FMT_PEM,
							  0, 0);
		if (r <= 0)
			return err_set(e, EXIT_CONFIG, "ca_file '%s': %s", ca_file,
				       r < 0 ? gnutls_strerror(r) : "holds no certificate");
		return 0;
	}
	r = gnutls_x509_trust_list_add_system_trust(*tl, 0, 0);
	if (r <= 0)
		return err_set(e, EXIT_UNAVAILABLE, "%s server '%s': no system CA to check its "
			       "certificate against (set [mailbox] ca_file)", service, host);
	return 0;
}

/* Does the chain lead to a CA of tl, for host, as a TLS server? */
static int
check_chain(gnutls_x509_trust_list_t tl, gnutls_x509_crt_t *certs, unsigned ncerts,
	    const char *service, const char *host, const char *ca_file, struct err *e)
{
	gnutls_typed_vdata_st vdata[2] = {
		{ GNUTLS_DT_DNS_HOSTNAME, (unsigned char *)host, 0 },
		{ GNUTLS_DT_KEY_PURPOSE_OID, (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER, 0 },
	};
	unsigned status = 0;
	char why[512];
	int r;

	r = gnutls_x509_trust_list_verify_crt2(tl, certs, ncerts, vdata, 2, 0, &status, NULL);
	if (r < 0)
		return err_set(e, EXIT_UNAVAILABLE, "%s server '%s': certificate not trusted: %s",
			       service, host, gnutls_strerror(r));
	if (status != 0) {
		describe(status, host, why, sizeof(why));
		return err_set(e, EXIT_UNAVAILABLE,
			       "%s server '%s': certificate not trusted: %s%s%s%s%s", service,
			       host, why, ca_file ? " (CAs from " : "", ca_file ? ca_file : "",
			       ca_file ? ")" : "", next_step(status));
	}
	return 0;
}

int
tls_verify_stream(mailstream *s, const char *service, const char *host,
		  const char *ca_file, struct err *e)
{
	gnutls_x509_crt_t certs[TLS_MAX_CHAIN];
	gnutls_x509_trust_list_t tl = NULL;
	unsigned ncerts = 0;
	carray *chain;
	int rc = -1;

	chain = s ? mailstream_get_certificate_chain(s) : NULL;
	if (!chain || carray_count(chain) == 0) {
		err_set(e, EXIT_UNAVAILABLE, "%s server '%s': presented no certificate", service,
			host);
		goto out;
	}
	if (import_chain(chain, certs, &ncerts, service, host, e) < 0 ||
	    open_trust_list(&tl, ca_file, service, host, e) < 0 ||
	    check_chain(tl, certs, ncerts, service, host, ca_file, e) < 0)
		goto out;
	rc = 0;
out:
	for (unsigned i = 0; i < ncerts; i++)
		gnutls_x509_crt_deinit(certs[i]);
	if (tl)
		gnutls_x509_trust_list_deinit(tl, 1);
	if (chain) {
		for (unsigned i = 0; i < carray_count(chain); i++)
			mmap_string_free(carray_get(chain, i));
		carray_free(chain);
	}
	return rc;
}
