//! The words each HTTP stack prints for a connection that failed, a
//! deadline that passed, or a body that ended early: browsers' fetch,
//! Node (undici, axios), Python (httpx, aiohttp, requests, urllib3, the
//! standard library), Go, Java (the JDK, OkHttp, Ktor), .NET, curl and PHP,
//! Ruby, Swift, Dart, Rust (reqwest, hyper), Elixir and gRPC. A client in
//! any of them reports a transport failure in these words, with no HTTP
//! status and no provider's body; the category and retryability come from
//! the words alone.
//!
//! Certificate errors are not retryable (the same configuration fails the
//! same way again); a response whose body ended early is a cut, not a
//! failed connection.

use nb_diagnose::ErrorCategory::{self, *};
use nb_diagnose::{DiagnosisEngine, Failure};

const STACKS: &[(&str, ErrorCategory, bool)] = &[
    (r##"TypeError: Failed to fetch"##, Network, true),
    (
        r##"NetworkError when attempting to fetch resource."##,
        Network,
        true,
    ),
    (r##"TypeError: Load failed"##, Network, true),
    (r##"TypeError: fetch failed"##, Network, true),
    (
        r##"Error: getaddrinfo ENOTFOUND api.openai.com"##,
        Network,
        true,
    ),
    (
        r##"Error: getaddrinfo EAI_AGAIN api.anthropic.com"##,
        Network,
        true,
    ),
    (
        r##"Error: connect ECONNREFUSED 127.0.0.1:11434"##,
        Network,
        true,
    ),
    (
        r##"Error: connect ETIMEDOUT 104.18.7.192:443"##,
        Timeout,
        true,
    ),
    (r##"Error: read ECONNRESET"##, Network, true),
    (r##"Error: socket hang up"##, Network, true),
    (
        r##"Error: Client network socket disconnected before secure TLS connection was established"##,
        Network,
        true,
    ),
    (r##"Error: certificate has expired"##, Network, false),
    (
        r##"Error: unable to verify the first certificate"##,
        Network,
        false,
    ),
    (
        r##"Error: self signed certificate in certificate chain"##,
        Network,
        false,
    ),
    (
        r##"Error: self-signed certificate in certificate chain"##,
        Network,
        false,
    ),
    (
        r##"Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames"##,
        Network,
        false,
    ),
    (r##"UNABLE_TO_GET_ISSUER_CERT_LOCALLY"##, Network, false),
    (
        r##"ConnectTimeoutError: Connect Timeout Error (attempt 1, timeout 10000ms)"##,
        Timeout,
        true,
    ),
    (r##"UND_ERR_CONNECT_TIMEOUT"##, Timeout, true),
    (
        r##"HeadersTimeoutError: Headers Timeout Error"##,
        Timeout,
        true,
    ),
    (
        r##"Error [ERR_STREAM_PREMATURE_CLOSE]: Premature close"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"httpx.ConnectError: [Errno -2] Name or service not known"##,
        Network,
        true,
    ),
    (
        r##"httpx.ConnectError: [Errno 111] Connection refused"##,
        Network,
        true,
    ),
    (r##"httpx.ReadTimeout: timed out"##, Timeout, true),
    (r##"httpx.ConnectTimeout: timed out"##, Timeout, true),
    (r##"httpx.PoolTimeout"##, Timeout, true),
    (
        r##"httpx.RemoteProtocolError: peer closed connection without sending complete message body (incomplete chunked read)"##,
        Network,
        true,
    ),
    (
        r##"aiohttp.client_exceptions.ServerDisconnectedError: Server disconnected"##,
        Network,
        true,
    ),
    (
        r##"aiohttp.client_exceptions.ClientConnectorError: Cannot connect to host api.openai.com:443 ssl:default [Connection reset by peer]"##,
        Network,
        true,
    ),
    (
        r##"aiohttp.client_exceptions.ClientOSError: [Errno 104] Connection reset by peer"##,
        Network,
        true,
    ),
    (
        r##"aiohttp.client_exceptions.ServerTimeoutError: Timeout on reading data from socket"##,
        Timeout,
        true,
    ),
    (
        r##"aiohttp.client_exceptions.ClientPayloadError: Response payload is not completed"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"aiohttp.client_exceptions.ClientConnectorCertificateError: Cannot connect to host api.openai.com:443 ssl:True [SSLCertVerificationError: (1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate (_ssl.c:1006)')]"##,
        Network,
        false,
    ),
    (
        r##"requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.openai.com', port=443): Max retries exceeded with url: /v1/chat/completions (Caused by NewConnectionError('<urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno 111] Connection refused'))"##,
        Network,
        true,
    ),
    (
        r##"requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.openai.com', port=443): Read timed out. (read timeout=600)"##,
        Timeout,
        true,
    ),
    (
        r##"requests.exceptions.ConnectTimeout: HTTPSConnectionPool(host='api.openai.com', port=443): Max retries exceeded with url: /v1/chat/completions (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f>, 'Connection to api.openai.com timed out. (connect timeout=10)'))"##,
        Timeout,
        true,
    ),
    (
        r##"requests.exceptions.ChunkedEncodingError: ("Connection broken: InvalidChunkLength(got length b'', 0 bytes read)", InvalidChunkLength(got length b'', 0 bytes read))"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"urllib3.exceptions.ProtocolError: ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))"##,
        Network,
        true,
    ),
    (
        r##"requests.exceptions.SSLError: HTTPSConnectionPool(host='api.openai.com', port=443): Max retries exceeded with url: /v1/models (Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate in certificate chain (_ssl.c:1000)')))"##,
        Network,
        false,
    ),
    (
        r##"ssl.SSLEOFError: EOF occurred in violation of protocol (_ssl.c:2427)"##,
        Network,
        true,
    ),
    (
        r##"[SSL: UNEXPECTED_EOF_WHILE_READING] EOF occurred in violation of protocol (_ssl.c:1006)"##,
        Network,
        true,
    ),
    (
        r##"Post "https://api.openai.com/v1/chat/completions": dial tcp: lookup api.openai.com: no such host"##,
        Network,
        true,
    ),
    (
        r##"Post "https://api.openai.com/v1/chat/completions": dial tcp 104.18.6.192:443: connect: connection refused"##,
        Network,
        true,
    ),
    (
        r##"Post "https://api.openai.com/v1/chat/completions": dial tcp 104.18.6.192:443: i/o timeout"##,
        Timeout,
        true,
    ),
    (
        r##"Post "https://api.openai.com/v1/chat/completions": context deadline exceeded (Client.Timeout exceeded while awaiting headers)"##,
        Timeout,
        true,
    ),
    (
        r##"net/http: request canceled (Client.Timeout exceeded while awaiting headers)"##,
        Timeout,
        true,
    ),
    (r##"net/http: TLS handshake timeout"##, Timeout, true),
    (
        r##"Post "https://api.openai.com/v1/chat/completions": read tcp 10.0.0.2:51234->104.18.6.192:443: read: connection reset by peer"##,
        Network,
        true,
    ),
    (
        r##"Post "https://api.openai.com/v1/chat/completions": EOF"##,
        Network,
        true,
    ),
    (
        r##"http2: server sent GOAWAY and closed the connection; LastStreamID=1999, ErrCode=NO_ERROR, debug="""##,
        Network,
        true,
    ),
    (
        r##"stream error: stream ID 3; INTERNAL_ERROR; received from peer"##,
        Network,
        true,
    ),
    (
        r##"x509: certificate signed by unknown authority"##,
        Network,
        false,
    ),
    (
        r##"tls: failed to verify certificate: x509: certificate has expired or is not yet valid"##,
        Network,
        false,
    ),
    (
        r##"dial tcp: lookup api.anthropic.com on 127.0.0.53:53: server misbehaving"##,
        Network,
        true,
    ),
    (
        r##"java.net.SocketTimeoutException: Read timed out"##,
        Timeout,
        true,
    ),
    (
        r##"java.net.SocketTimeoutException: timeout"##,
        Timeout,
        true,
    ),
    (
        r##"java.net.SocketTimeoutException: Connect timed out"##,
        Timeout,
        true,
    ),
    (
        r##"java.net.ConnectException: Connection refused"##,
        Network,
        true,
    ),
    (
        r##"java.net.UnknownHostException: api.openai.com: nodename nor servname provided, or not known"##,
        Network,
        true,
    ),
    (
        r##"java.net.SocketException: Connection reset"##,
        Network,
        true,
    ),
    (
        r##"javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target"##,
        Network,
        false,
    ),
    (
        r##"java.net.http.HttpTimeoutException: request timed out"##,
        Timeout,
        true,
    ),
    (
        r##"java.io.IOException: unexpected end of stream on https://api.openai.com/..."##,
        Network,
        true,
    ),
    (
        r##"java.io.EOFException: \n not found: limit=0 content=…"##,
        Network,
        true,
    ),
    (
        r##"okhttp3.internal.http2.StreamResetException: stream was reset: INTERNAL_ERROR"##,
        Network,
        true,
    ),
    (r##"java.net.SocketException: Broken pipe"##, Network, true),
    (
        r##"io.ktor.client.plugins.HttpRequestTimeoutException: Request timeout has expired [url=https://api.openai.com/v1/chat/completions, request_timeout=60000 ms]"##,
        Timeout,
        true,
    ),
    (
        r##"io.ktor.client.network.sockets.ConnectTimeoutException: Connect timeout has expired [url=https://api.openai.com/v1/chat/completions, connect_timeout=unknown ms]"##,
        Timeout,
        true,
    ),
    (
        r##"System.Threading.Tasks.TaskCanceledException: The request was canceled due to the configured HttpClient.Timeout of 100 seconds elapsing."##,
        Timeout,
        true,
    ),
    (
        r##"System.Net.Http.HttpRequestException: No such host is known. (api.openai.com:443)"##,
        Network,
        true,
    ),
    (
        r##"System.Net.Http.HttpRequestException: An error occurred while sending the request."##,
        Network,
        true,
    ),
    (
        r##"System.Net.Http.HttpIOException: The response ended prematurely. (ResponseEnded)"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"System.IO.IOException: Unable to read data from the transport connection: An existing connection was forcibly closed by the remote host."##,
        Network,
        true,
    ),
    (
        r##"System.Net.Http.HttpRequestException: The SSL connection could not be established, see inner exception. ---> System.Security.Authentication.AuthenticationException: The remote certificate is invalid according to the validation procedure."##,
        Network,
        false,
    ),
    (
        r##"System.Net.Sockets.SocketException (10061): No connection could be made because the target machine actively refused it."##,
        Network,
        true,
    ),
    (
        r##"cURL error 28: Operation timed out after 30001 milliseconds with 0 bytes received"##,
        Timeout,
        true,
    ),
    (
        r##"cURL error 7: Failed to connect to api.openai.com port 443 after 2 ms: Connection refused"##,
        Network,
        true,
    ),
    (
        r##"cURL error 6: Could not resolve host: api.openai.com"##,
        Network,
        true,
    ),
    (
        r##"cURL error 60: SSL certificate problem: unable to get local issuer certificate"##,
        Network,
        false,
    ),
    (
        r##"cURL error 56: OpenSSL SSL_read: Connection reset by peer, errno 104"##,
        Network,
        true,
    ),
    (
        r##"cURL error 35: OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to api.openai.com:443"##,
        Network,
        true,
    ),
    (r##"curl: (52) Empty reply from server"##, Network, true),
    (
        r##"curl: (92) HTTP/2 stream 1 was not closed cleanly: INTERNAL_ERROR (err 2)"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"curl: (18) transfer closed with outstanding read data remaining"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"Net::ReadTimeout with #<TCPSocket:(closed)>"##,
        Timeout,
        true,
    ),
    (r##"Net::OpenTimeout: execution expired"##, Timeout, true),
    (
        r##"Errno::ECONNRESET: Connection reset by peer"##,
        Network,
        true,
    ),
    (
        r##"Errno::ECONNREFUSED: Failed to open TCP connection to localhost:11434 (Connection refused - connect(2) for "localhost" port 11434)"##,
        Network,
        true,
    ),
    (
        r##"SocketError: Failed to open TCP connection to api.openai.com:443 (getaddrinfo: nodename nor servname provided, or not known)"##,
        Network,
        true,
    ),
    (
        r##"Faraday::TimeoutError: Net::ReadTimeout"##,
        Timeout,
        true,
    ),
    (
        r##"Faraday::ConnectionFailed: Connection reset by peer"##,
        Network,
        true,
    ),
    (
        r##"OpenSSL::SSL::SSLError: SSL_connect returned=1 errno=0 peeraddr=104.18.6.192:443 state=error: certificate verify failed (unable to get local issuer certificate)"##,
        Network,
        false,
    ),
    (r##"The request timed out."##, Timeout, true),
    (r##"The network connection was lost."##, Network, true),
    (
        r##"The Internet connection appears to be offline."##,
        Network,
        true,
    ),
    (r##"Could not connect to the server."##, Network, true),
    (
        r##"A server with the specified hostname could not be found."##,
        Network,
        true,
    ),
    (
        r##"Error Domain=NSURLErrorDomain Code=-1001 "The request timed out.""##,
        Timeout,
        true,
    ),
    (
        r##"Error Domain=NSURLErrorDomain Code=-1005 "The network connection was lost.""##,
        Network,
        true,
    ),
    (
        r##"SocketException: Connection refused (OS Error: Connection refused, errno = 111), address = localhost, port = 52034"##,
        Network,
        true,
    ),
    (
        r##"ClientException with SocketException: Failed host lookup: 'api.openai.com' (OS Error: No address associated with hostname, errno = 7)"##,
        Network,
        true,
    ),
    (
        r##"HttpException: Connection closed before full header was received"##,
        Network,
        true,
    ),
    (
        r##"HandshakeException: Handshake error in client (OS Error: CERTIFICATE_VERIFY_FAILED: unable to get local issuer certificate(handshake.cc:393))"##,
        Network,
        false,
    ),
    (
        r##"TimeoutException after 0:01:00.000000: Future not completed"##,
        Timeout,
        true,
    ),
    (
        r##"reqwest::Error { kind: Request, url: "https://api.openai.com/v1/chat/completions", source: hyper_util::client::legacy::Error(Connect, ConnectError("tcp connect error", Os { code: 111, kind: ConnectionRefused, message: "Connection refused" })) }"##,
        Network,
        true,
    ),
    (
        r##"error sending request for url (https://api.openai.com/v1/chat/completions): operation timed out"##,
        Timeout,
        true,
    ),
    (
        r##"error sending request for url (https://api.openai.com/v1/chat/completions): connection closed before message completed"##,
        Network,
        true,
    ),
    (
        r##"hyper::Error(IncompleteMessage): connection closed before message completed"##,
        Network,
        true,
    ),
    (r##"%Mint.TransportError{reason: :closed}"##, Network, true),
    (r##"%Mint.TransportError{reason: :timeout}"##, Timeout, true),
    (
        r##"%Mint.TransportError{reason: :econnrefused}"##,
        Network,
        true,
    ),
    (r##"** (Req.TransportError) socket closed"##, Network, true),
    (
        r##"14 UNAVAILABLE: failed to connect to all addresses; last error: UNKNOWN: ipv4:142.250.72.10:443: Failed to connect to remote host: Connection refused"##,
        Network,
        true,
    ),
    (r##"4 DEADLINE_EXCEEDED: Deadline exceeded"##, Timeout, true),
    (
        r##"13 INTERNAL: Received RST_STREAM with code 2 triggered by internal client error: Session closed with error code 2"##,
        Network,
        true,
    ),
    (r##"14 UNAVAILABLE: Connection dropped"##, Network, true),
    (
        r##"ConnectionRefusedError: [Errno 111] Connection refused"##,
        Network,
        true,
    ),
    (
        r##"ConnectionResetError: [Errno 104] Connection reset by peer"##,
        Network,
        true,
    ),
    (
        r##"socket.gaierror: [Errno 8] nodename nor servname provided, or not known"##,
        Network,
        true,
    ),
    (
        r##"TimeoutError: [Errno 110] Connection timed out"##,
        Timeout,
        true,
    ),
    (
        r##"OSError: [Errno 101] Network is unreachable"##,
        Network,
        true,
    ),
    (r##"OSError: [Errno 113] No route to host"##, Network, true),
    (
        r##"BrokenPipeError: [Errno 32] Broken pipe"##,
        Network,
        true,
    ),
    (r##"asyncio.exceptions.TimeoutError"##, Timeout, true),
    (
        r##"openai.APITimeoutError: Request timed out."##,
        Timeout,
        true,
    ),
    (
        r##"openai.APIConnectionError: Connection error."##,
        Network,
        true,
    ),
    (
        r##"anthropic.APITimeoutError: Request timed out or interrupted. This could be due to a network timeout, dropped connection, or request cancellation."##,
        Timeout,
        true,
    ),
    (
        r##"error: The socket connection was closed unexpectedly. For more information, pass `verbose: true` in the second argument to fetch()"##,
        Network,
        true,
    ),
    (
        r##"ConnectionRefused: Unable to connect. Is the computer able to access the url?"##,
        Network,
        true,
    ),
    (
        r##"TypeError: error sending request for url (https://api.openai.com/v1/chat/completions): client error (Connect): tcp connect error: Connection refused (os error 111)"##,
        Network,
        true,
    ),
    (r##"Error: self-signed certificate"##, Network, false),
    (r##"Proxy CONNECT aborted"##, Network, true),
    (
        r##"tunneling socket could not be established, cause=connect ECONNREFUSED 127.0.0.1:7890"##,
        Network,
        true,
    ),
    (
        r##"Error: connect EHOSTUNREACH 10.0.0.5:443"##,
        Network,
        true,
    ),
    (
        r##"Error: connect ENETUNREACH 2606:4700::6810:6c0:443"##,
        Network,
        true,
    ),
    (r##"Error: write EPIPE"##, Network, true),
    (r##"Error: ESOCKETTIMEDOUT"##, Timeout, true),
    (
        r##"AxiosError: timeout of 60000ms exceeded"##,
        Timeout,
        true,
    ),
    (r##"AxiosError: Network Error"##, Network, true),
];

#[test]
fn every_stacks_transport_words_name_their_failure() {
    let engine = DiagnosisEngine::new();
    let wrong: Vec<String> = STACKS
        .iter()
        .filter_map(|&(text, want, retryable)| {
            let d = engine.diagnose(&Failure::message(text));
            ((d.category, d.retryable) != (want, retryable)).then(|| {
                format!(
                    "{text}\n  want {want:?}/{retryable}, got {:?}/{} ({})",
                    d.category, d.retryable, d.sub_category
                )
            })
        })
        .collect();
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
