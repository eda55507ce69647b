/* tls.h - verified TLS for libetpan's streams (IMAP, POP3, SMTP).
 *
 * Debian's libetpan (GnuTLS build) completes the handshake with any
 * certificate and sends no SNI. Every TLS connection of secdesk therefore
 *   1. connects with libetpan's *_with_callback variant, passing
 *      tls_sni_callback and the host name, so that SNI is sent:
 *        mailimap_ssl_connect_with_callback(imap, host, port,
 *                                           tls_sni_callback, (void *)host);
 *        mailimap_socket_starttls_with_callback(imap, tls_sni_callback, host);
 *      (the same for mailpop3_* and mailsmtp_*);
 *   2. calls tls_verify_stream() on the stream before it sends anything
 *      else (no login, no command) and drops the connection when it fails.
 * There is no fall back to plaintext anywhere. */
#ifndef SECDESK_TLS_H
#define SECDESK_TLS_H

#include <libetpan/libetpan.h>

#include "err.h"

/* For libetpan's connect callbacks: data is the host name (const char *).
 * Sends it as SNI unless it is an IP address literal (RFC 6066, 3). */
void tls_sni_callback(struct mailstream_ssl_context *ctx, void *data);

/* Verifies the certificate chain the peer of stream presented: signed by
 * a CA of ca_file (PEM bundle) or, when ca_file is NULL, of the system's
 * trust store; valid now; for host (DNS name or IP address; wildcards as
 * RFC 6125); usable for a TLS server. Returns 0, or -1 with e set:
 * EXIT_UNAVAILABLE "SERVICE server 'HOST': certificate not trusted: REASON"
 * for a certificate that fails, EXIT_CONFIG when ca_file holds no CA.
 * service names the protocol in messages ("imap", "smtp"...). */
int tls_verify_stream(mailstream *s, const char *service, const char *host,
		      const char *ca_file, struct err *e);

#endif
