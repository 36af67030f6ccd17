//! Whole vocabularies a client quotes without the status it came with,
//! each written from the tools' own words rather than from collected cases:
//!
//! - transport failures, as each common HTTP stack prints them, and as
//!   curl, the C library in other locales and localised Windows word them.
//! - requests refused, as common validators print them: pydantic (v1 and
//!   v2), JSON Schema (ajv, and each keyword of Python's jsonschema), Joi, class-validator, Go's
//!   validator, serde, axum, .NET and Java argument checks, and the
//!   providers' own parameter errors (OpenAI, Anthropic, Gemini). They name
//!   a request that will not pass however often it is sent; under a status,
//!   the status decides.
//! - answers a client could not use, as parsers and agent frameworks print
//!   them: the AI SDK, LangChain, LlamaIndex, instructor, pydantic-ai, the
//!   OpenAI Agents SDK, DSPy, and JSON parsers and binders in Python,
//!   JavaScript, Java and Kotlin, .NET, Rust, Go (protojson too), Lua and
//!   Dart. The same request can get a usable answer next time.
//! - failures as SDKs' exception classes name them (openai-python,
//!   anthropic, LiteLLM, the AI SDK, boto3 for Bedrock, openai-java,
//!   google-genai, google-api-core, Mistral, Groq, Cohere, Azure), with a
//!   message that names no cause.
//! - rate limits and spent quotas, and a prompt over the model's window
//!   against a body over a byte limit, capacity against a deadline against
//!   a server's failure, and a missing model against a wrong path against
//!   a model out of the account's reach, and a bad credential against a
//!   good one out of reach (OAuth 2.0 token endpoints' codes too), and a
//!   safety refusal, as the providers word them.
//! - the documented errors of the Chinese providers, in their words, and
//!   what gateways and proxies in front of a provider say.
//! - inside a stream that had begun: a cut in each stack's words, or an
//!   error event in each provider's shape.
//!
//! Left out on purpose: words a client prints both for a request and for a
//! response (pydantic's "validation error for <model>", zod's "Expected
//! string, received …", Go's "cannot unmarshal", serde's "missing field"),
//! which read as a broken answer; a token count over a limit, which is the
//! context's; and the calling code's own slips that point at no part of
//! an answer (`'NoneType' object has no attribute …`), which may be
//! anything. (A `None` where the answer's list or mapping should be, "not
//! subscriptable", "not iterable" or "must be a mapping, not NoneType",
//! the corpora's labellers read as a broken answer, and so does the
//! engine.)

mod common;

use common::{assert_read, assert_read_as};
use nb_diagnose::ErrorCategory::{self, *};
use nb_diagnose::{DiagnosisEngine, Failure};

/// The words each HTTP stack prints for a connection that failed, a
/// deadline that passed, or a body that ended early: browsers' fetch,
/// Node (undici, axios), Bun, Python (httpx, aiohttp, requests, urllib3, the
/// standard library), Go, Java (the JDK, OkHttp, Ktor), .NET, curl and PHP,
/// Ruby, Swift, Dart, Rust (reqwest, hyper), Elixir and gRPC. A client in
/// any of them reports a transport failure in these words, with no HTTP
/// status and no provider's body; the category and retryability come from
/// the words alone.
///
/// Certificate errors are not retryable (the same configuration fails the
/// same way again); a response whose body ended early is a cut, not a
/// failed connection.
const STACKS: &[(&str, ErrorCategory, bool)] = &[
    (r##"TypeError: Failed to fetch"##, Network, true),
    // WebKit's, passed on alone or in an app's own error object.
    (r##"TypeError: Load failed"##, Network, true),
    (r##"Load failed"##, Network, true),
    (
        r##"{"error": true, "message": "Load failed"}"##,
        Network,
        true,
    ),
    // A browser's CORS refusal: the same page fails the same way until the
    // server's or the caller's configuration changes.
    (
        r##"Access to fetch at 'http://127.0.0.1:8000/v1/chat/completions' from origin 'https://app.example.dev' has been blocked by CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."##,
        Network,
        false,
    ),
    (
        r##"Access to XMLHttpRequest at 'https://api.example.com/v1/chat/completions' from origin 'http://localhost:3000' has been blocked by CORS policy: Response to preflight request doesn't pass access control check"##,
        Network,
        false,
    ),
    (
        r##"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example.com/v1/chat/completions. (Reason: CORS header 'Access-Control-Allow-Origin' missing). Status code: 200."##,
        Network,
        false,
    ),
    (
        r##"Origin http://localhost:3000 is not allowed by Access-Control-Allow-Origin. Status code: 200"##,
        Network,
        false,
    ),
    // Firefox's word for a CORS request whose connection failed.
    (
        r##"Cross-Origin Request Blocked: The Same Origin Policy disallows reading the remote resource at https://api.example.com/v1/chat/completions. (Reason: CORS request did not succeed). Status code: (null)."##,
        Network,
        true,
    ),
    (
        r##"Fetch API cannot load https://api.example.com/v1/chat/completions due to access control checks."##,
        Network,
        false,
    ),
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
    (r##"failed to connect to the remote API"##, Network, true),
    (
        r##"curl: (28) Failed to connect to api.openai.com port 443 after 21036 ms: Timed out"##,
        Timeout,
        true,
    ),
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
    // The AI SDK's words with the cause cut off, and a dropped connection
    // as apps word it.
    (r##"Cannot connect to API: "##, Network, true),
    (
        r##"### error: Connection to remote host was lost."##,
        Network,
        true,
    ),
    (r##"Connection lost"##, Network, true),
    // reqwest's own error printed whole, its source cut off.
    (
        r##"Request failed with error: Transport(reqwest::Error { kind: Request, url: "https://api.example.com/v1/chat/completions""##,
        Network,
        true,
    ),
    // reqwest's printed error whose source is a timeout.
    (
        r##"reqwest::Error { kind: Request, url: "https://api.example.com/v1/chat/completions", source: TimedOut }"##,
        Timeout,
        true,
    ),
    // Java's TLS alerts from the server: a failed handshake is retried; a
    // protocol version the server refuses (in OpenSSL's and Go's words
    // too) or a certificate it rejects is not. Chromium's (Electron's net)
    // HTTP/2 protocol error, and Bun's fetch of an answer that is not HTTP.
    (
        r##"java.io.IOException: Received fatal alert: handshake_failure"##,
        Network,
        true,
    ),
    (
        r##"java.io.IOException: Received fatal alert: protocol_version"##,
        Network,
        false,
    ),
    (
        r##"[SSL: TLSV1_ALERT_PROTOCOL_VERSION] tlsv1 alert protocol version (_ssl.c:1006)"##,
        Network,
        false,
    ),
    (
        r##"remote error: tls: protocol version not supported"##,
        Network,
        false,
    ),
    (
        r##"java.io.IOException: Received fatal alert: certificate_unknown"##,
        Network,
        false,
    ),
    (
        r##"Response failure, cause: Remote host terminated the handshake, please try again."##,
        Network,
        true,
    ),
    (r##"Error: net::ERR_HTTP2_PROTOCOL_ERROR"##, Network, true),
    (
        r##"Error: InvalidHTTPResponse fetching "http://localhost:4000/v1/chat/completions". For more information, pass `verbose: true` in the second argument to fetch()"##,
        Network,
        true,
    ),
];

const REFUSALS: &[&str] = &[
    r##"ERROR: Tool call id has to be defined in serving mode."##,
    r##"temperature
  Input should be less than or equal to 2 [type=less_than_equal, input_value=3, input_type=int]"##,
    r##"stream_options
  Extra inputs are not permitted [type=extra_forbidden, input_value={}, input_type=dict]"##,
    // Azure AI Foundry's models refusing a parameter they do not take.
    r##"Extra parameters ['n'] are not allowed when extra-parameters is not set or set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model."##,
    r##"Error from OpenAI API: you must provide a model parameter"##,
    // Copilot's limit on a request's tools; OpenRouter's and Amazon Q's
    // (Bedrock's) words for a request they could not take.
    r##"Sorry, your request failed. Please try again. Request id: e80beeb2

Reason: You may not include more than 128 tools in your request."##,
    r##"The request was malformed and could not be processed.
Provider returned error"##,
    r##"Improperly formed request"##,
    // DashScope's parameter that needs a stream.
    r##"parameter incremental_output only support stream call"##,
    r##"max_tokens
  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='abc', input_type=str]"##,
    r##"messages.0.role
  Input should be 'system', 'user' or 'assistant' [type=literal_error, input_value='bot', input_type=str]"##,
    r##"messages -> 0 -> content
  field required (type=value_error.missing)"##,
    r##"temperature
  ensure this value is less than or equal to 2 (type=value_error.number.not_le; limit_value=2)"##,
    r##"extra fields not permitted (type=value_error.extra)"##,
    r##"n
  value is not a valid integer (type=type_error.integer)"##,
    r##"Number must be less than or equal to 2 at "temperature""##,
    r##"String must contain at least 1 character(s) at "messages[1].content""##,
    r##"data/messages must have required property 'content'"##,
    r##"data must NOT have additional properties"##,
    r##"data/temperature must be <= 2"##,
    r##"data/tool_choice must be equal to one of the allowed values"##,
    r##"'messages' is a required property"##,
    r##"Additional properties are not allowed ('top_k' was unexpected)"##,
    r##"'high' is not one of ['low', 'medium', 'auto']"##,
    r##"3 is greater than the maximum of 2"##,
    r##"None is not of type 'string'"##,
    r##"Key: 'ChatRequest.Model' Error:Field validation for 'Model' failed on the 'required' tag"##,
    r##""messages" is required"##,
    r##""temperature" must be less than or equal to 2"##,
    r##""top_k" is not allowed"##,
    r##"temperature must not be greater than 2"##,
    r##"model should not be empty"##,
    r##"property top_k should not exist"##,
    r##"Unrecognized request argument supplied: top_k"##,
    r##"Unknown parameter: 'top_k'."##,
    r##"Invalid type for 'temperature': expected a decimal, but got a string instead."##,
    r##"Missing required parameter: 'messages'."##,
    r##"'bot' is not one of ['system', 'assistant', 'user', 'tool'] - 'messages.0.role'"##,
    r##"Invalid value for 'n': expected an integer, but got a string."##,
    r##"Invalid 'messages[2].tool_calls': empty array. Expected an array with minimum length 1."##,
    r##"messages: field required"##,
    r##"max_tokens: Input should be a valid integer"##,
    r##"messages.1.content.0.type: Input tag 'img' found using 'type' does not match any of the expected tags"##,
    r##"messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row"##,
    r##"Invalid JSON payload received. Unknown name "topK" at 'generation_config': Cannot find field."##,
    r##"* GenerateContentRequest.contents: contents is not specified"##,
    r##"Invalid value at 'generation_config.temperature' (TYPE_FLOAT), "hot""##,
    r##"Request contains an invalid argument."##,
    r##"unknown field `top_k`, expected one of `model`, `messages`, `stream`"##,
    r##"invalid type: string "2", expected u32 at line 1 column 42"##,
    r##"Failed to deserialize the JSON body into the target type: messages[0]: missing field `role` at line 1 column 30"##,
    r##"Value error, `max_tokens` must be at least 1, got 0."##,
    r##"ValueError: temperature must be between 0 and 2"##,
    r##"IllegalArgumentException: maxTokens must be positive"##,
    r##"ArgumentOutOfRangeException: Specified argument was out of the range of valid values. (Parameter 'temperature')"##,
    r##"Invalid schema for response_format 'answer': In context=(), 'required' is required to be supplied and to be an array including every key in properties."##,
    r##"Invalid schema for function 'get_weather': 'object' is not valid under any of the given schemas."##,
    r##"'tools[0].function.name' does not match '^[a-zA-Z0-9_-]{1,64}$'"##,
    // Python's jsonschema, each of its keywords' messages.
    r##"[] is too short"##,
    r##"'' is too short - 'messages.0.content'"##,
    r##"[] should be non-empty"##,
    r##"['a', 'a'] has non-unique elements"##,
    r##"0 is less than or equal to the minimum of 0"##,
    r##"2 is greater than or equal to the maximum of 2"##,
    r##"{'role': 'user'} is valid under each of {'required': ['content']}, {'required': ['role']}"##,
    r##"'tool_choice' is a dependency of 'tools'"##,
    r##"{} does not have enough properties"##,
    r##"{'a': 1, 'b': 2} has too many properties"##,
    r##"{'type': 'none'} should not be valid under {'const': 'none'}"##,
    r##"unexpected keyword argument 'max_completion_tokens'"##,
    // OpenAI's reasoning items sent back with content it cannot verify.
    r##"The encrypted content for item rs_0a1b2c could not be verified."##,
];

const BROKEN_ANSWERS: &[&str] = &[
    // Python's UnicodeDecodeError over an answer's bytes.
    r##"'utf-8' codec can't decode bytes in position 5468-5469: unexpected end of data"##,
    r##"UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe4 in position 0: invalid continuation byte"##,
    r##"AI_NoObjectGeneratedError: No object generated: could not parse the response."##,
    r##"AI_JSONParseError: JSON parsing failed: Text: {"answer": "4.. Error message: Unterminated string in JSON at position 12"##,
    r##"AI_TypeValidationError: Type validation failed: Value: {"answer":null}."##,
    r##"AI_InvalidResponseDataError: Expected 'id' to be a string."##,
    r##"AI_NoContentGeneratedError: No content generated."##,
    r##"AI_EmptyResponseBodyError: Empty response body"##,
    r##"OutputParserException: Could not parse LLM output: `Sure! Here is the answer`"##,
    r##"langchain_core.exceptions.OutputParserException: Invalid json output: The answer is 4"##,
    r##"OutputParserException: Failed to parse Answer from completion {"text": "4"}. Got: 1 validation error for Answer"##,
    r##"ValueError: Could not extract json string from output: I cannot do that"##,
    r##"instructor.exceptions.InstructorRetryException: 1 validation error for UserInfo"##,
    r##"pydantic_ai.exceptions.UnexpectedModelBehavior: Received empty model response"##,
    r##"agents.exceptions.ModelBehaviorError: Invalid JSON when parsing {"city": for AgentOutputSchema"##,
    r##"dspy.utils.exceptions.AdapterParseError: Adapter JSONAdapter failed to parse the LM response."##,
    r##"json.decoder.JSONDecodeError: Expecting ',' delimiter: line 1 column 57 (char 56)"##,
    r##"SyntaxError: Unexpected token 'I', "I'm sorry," is not valid JSON"##,
    r##"SyntaxError: Unexpected end of JSON input"##,
    r##"com.fasterxml.jackson.core.JsonParseException: Unexpected character ('<' (code 60)): expected a valid value"##,
    r##"com.fasterxml.jackson.databind.exc.MismatchedInputException: No content to map due to end-of-input"##,
    r##"System.Text.Json.JsonException: 'T' is an invalid start of a value. Path: $ | LineNumber: 0 | BytePositionInLine: 0."##,
    r##"System.InvalidOperationException: The requested operation requires an element of type 'Object', but the target element has type 'String'."##,
    r##"Newtonsoft.Json.JsonReaderException: Unexpected character encountered while parsing value: <. Path '', line 0, position 0."##,
    r##"serde_json::Error: EOF while parsing an object at line 1 column 120"##,
    r##"invalid character '<' looking for beginning of value"##,
    r##"unexpected end of JSON input"##,
    r##"KeyError: 'choices'"##,
    r##"TypeError: Cannot read properties of undefined (reading 'content')"##,
    r##"TypeError: 'NoneType' object is not subscriptable"##,
    r##"IndexError: list index out of range"##,
    r##"TypeError: undefined is not an object (evaluating 'response.choices[0]')"##,
    r##"The model returned an empty response."##,
    r##"Model returned no content"##,
    r##"The LLM returned an invalid tool call: arguments are not valid JSON"##,
    r##"Failed to parse tool call arguments as JSON"##,
    r##"Error parsing function arguments: unexpected end of input"##,
    // aiohttp's refusal to read a body that is not JSON as JSON.
    r##"aiohttp.client_exceptions.ContentTypeError: 0, message='Attempt to decode JSON with unexpected mimetype: text/html; charset=utf-8', url=URL('https://api.example.com/v1/chat/completions')"##,
    // The JVM's JSON binders (Ktor, kotlinx.serialization, Gson, Jackson)
    // and openai-java's check of a required field.
    r##"io.ktor.serialization.JsonConvertException: Illegal input"##,
    r##"kotlinx.serialization.json.internal.JsonDecodingException: Unexpected JSON token at offset 0: Expected start of the object '{', but had '<' instead"##,
    r##"com.google.gson.JsonSyntaxException: java.lang.IllegalStateException: Expected BEGIN_OBJECT but was STRING at line 1 column 1 path $"##,
    r##"com.fasterxml.jackson.databind.exc.MismatchedInputException: Cannot deserialize value of type `java.util.ArrayList` from Object value"##,
    r##"com.openai.errors.OpenAIInvalidDataException: 'choices' is not set"##,
    // reqwest over serde: a body whose first byte is not JSON, not a cut.
    r##"error decoding response body: expected value at line 1 column 1"##,
    // Go's protojson (google-genai for Go, gRPC gateways).
    r##"proto: (line 2:3): unknown field "error""##,
    r##"proto: syntax error (line 1:1): unexpected token <"##,
    // Firebase's AI SDKs on a shape they do not know.
    r##"VertexAISdkException: Unhandled format for Content"##,
    r##"无法解析返回的响应"##,
    r##"无法解析响应"##,
    // A part of the answer that was not there, read by JavaScript (null),
    // Lua (LuaJIT's wording and Lua 5.4's) and Dart (a JSON value cast to
    // the type the client expected); the AI SDK's class alone.
    r##"TypeError: Cannot read properties of null (reading 'choices')"##,
    r##"lua/chatgpt/api.lua:42: attempt to index field 'choices' (a nil value)"##,
    r##"attempt to index a nil value (field 'usage')"##,
    r##"type 'Null' is not a subtype of type 'String'"##,
    r##"type '_Map<String, dynamic>' is not a subtype of type 'List<dynamic>' in type cast"##,
    r##"AI_TypeValidationError"##,
    // Python reading the usage an answer did not carry.
    r##"gpt 'NoneType' object has no attribute 'total_tokens'"##,
    r##"Translation failed due to 'str' object has no attribute 'usage'."##,
    r##"AttributeError: 'NoneType' object has no attribute 'prompt_tokens'"##,
    // A client's Chinese for an answer of the wrong shape ("the response
    // format is wrong", "… invalid"), and a client's words for a NovelAI
    // answer it could not read.
    r##"Error: 响应格式错误。TraceID：212c393517592927570243881e1293"##,
    r##"Error: OpenAI 响应格式无效 - 缺少或空的 choices 数组。"##,
    r##"received incorrect json from llm"##,
];

/// SDKs' exception classes, each with a message that names no cause: the
/// class (or the status printed after it) decides. Bedrock's quota is per
/// minute, so exceeding it is a rate limit; its missing resource is the
/// model the request names.
const EXCEPTIONS: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"openai.APIConnectionError: Connection error."##,
        Network,
        true,
    ),
    (
        r##"openai.APITimeoutError: Request timed out."##,
        Timeout,
        true,
    ),
    (
        r##"openai.AuthenticationError: request rejected"##,
        Auth,
        false,
    ),
    (
        r##"openai.PermissionDeniedError: request rejected"##,
        Permission,
        false,
    ),
    (
        r##"openai.NotFoundError: model unavailable for this key"##,
        ModelNotFound,
        false,
    ),
    (
        r##"openai.RateLimitError: please slow down"##,
        RateLimit,
        true,
    ),
    (
        r##"openai.InternalServerError: something broke"##,
        ServerError,
        true,
    ),
    (
        r##"openai.BadRequestError: request rejected"##,
        InvalidRequest,
        false,
    ),
    (
        r##"openai.UnprocessableEntityError: request rejected"##,
        InvalidRequest,
        false,
    ),
    (
        r##"anthropic.OverloadedError: please try later"##,
        Overloaded,
        true,
    ),
    (
        r##"anthropic.InternalServerError: something broke"##,
        ServerError,
        true,
    ),
    (
        r##"anthropic.APIConnectionError: Connection error."##,
        Network,
        true,
    ),
    (
        r##"anthropic.APITimeoutError: Request timed out or interrupted."##,
        Timeout,
        true,
    ),
    (
        r##"litellm.ContextWindowExceededError: prompt rejected"##,
        ContextLength,
        false,
    ),
    (
        r##"litellm.ServiceUnavailableError: try later"##,
        Overloaded,
        true,
    ),
    (
        r##"litellm.Timeout: Connection timed out after 600.0 seconds."##,
        Timeout,
        true,
    ),
    (
        r##"litellm.BudgetExceededError: Budget has been exceeded! Current cost: 10.2, Max budget: 10.0"##,
        QuotaExhausted,
        false,
    ),
    (
        r##"litellm.AuthenticationError: request rejected"##,
        Auth,
        false,
    ),
    (r##"litellm.RateLimitError: slow down"##, RateLimit, true),
    (
        r##"litellm.APIConnectionError: connection failed"##,
        Network,
        true,
    ),
    (
        r##"litellm.NotFoundError: model unavailable"##,
        ModelNotFound,
        false,
    ),
    (
        r##"AI_LoadAPIKeyError: OpenAI API key is missing. Pass it using the 'apiKey' parameter or the OPENAI_API_KEY environment variable."##,
        Auth,
        false,
    ),
    (
        r##"botocore.errorfactory.ThrottlingException: An error occurred (ThrottlingException) when calling the Converse operation: request rejected"##,
        RateLimit,
        true,
    ),
    (
        r##"ServiceQuotaExceededException: An error occurred (ServiceQuotaExceededException) when calling the InvokeModel operation: request rejected"##,
        RateLimit,
        true,
    ),
    (
        r##"An error occurred (ValidationException) when calling the Converse operation: request rejected"##,
        InvalidRequest,
        false,
    ),
    (
        r##"An error occurred (AccessDeniedException) when calling the InvokeModel operation: request rejected"##,
        Permission,
        false,
    ),
    (
        r##"An error occurred (ModelTimeoutException) when calling the InvokeModel operation: took too long"##,
        Timeout,
        true,
    ),
    (
        r##"An error occurred (ModelNotReadyException) when calling the InvokeModel operation: try later"##,
        Overloaded,
        true,
    ),
    (
        r##"An error occurred (ModelErrorException) when calling the InvokeModel operation: something broke"##,
        ServerError,
        true,
    ),
    (
        r##"An error occurred (ResourceNotFoundException) when calling the InvokeModel operation: not there"##,
        ModelNotFound,
        false,
    ),
    (
        r##"An error occurred (ServiceUnavailableException) when calling the ConverseStream operation: try later"##,
        Overloaded,
        true,
    ),
    (
        r##"An error occurred (InternalServerException) when calling the Converse operation: something broke"##,
        ServerError,
        true,
    ),
    (
        r##"An error occurred (ModelStreamErrorException) when calling the ConverseStream operation: the stream broke"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"com.openai.errors.RateLimitException: 429: slow down"##,
        RateLimit,
        true,
    ),
    (
        r##"com.openai.errors.UnauthorizedException: 401: rejected"##,
        Auth,
        false,
    ),
    (
        r##"com.openai.errors.NotFoundException: 404: model unavailable"##,
        ModelNotFound,
        false,
    ),
    (
        r##"com.openai.errors.InternalServerException: 500: broke"##,
        ServerError,
        true,
    ),
    (
        r##"com.openai.errors.BadRequestException: 400: rejected"##,
        InvalidRequest,
        false,
    ),
    (
        r##"google.genai.errors.ClientError: 429 RESOURCE_EXHAUSTED. slow down"##,
        RateLimit,
        true,
    ),
    (
        r##"google.genai.errors.ServerError: 500 INTERNAL. broke"##,
        ServerError,
        true,
    ),
    (
        r##"google.genai.errors.ServerError: 503 UNAVAILABLE. try later"##,
        Overloaded,
        true,
    ),
    (
        r##"google.genai.errors.ClientError: 400 INVALID_ARGUMENT. rejected"##,
        InvalidRequest,
        false,
    ),
    (
        r##"google.api_core.exceptions.ResourceExhausted: 429 slow down"##,
        RateLimit,
        true,
    ),
    (
        r##"google.api_core.exceptions.ServiceUnavailable: 503 try later"##,
        Overloaded,
        true,
    ),
    (
        r##"google.api_core.exceptions.DeadlineExceeded: 504 took too long"##,
        Timeout,
        true,
    ),
    (
        r##"google.api_core.exceptions.PermissionDenied: 403 rejected"##,
        Permission,
        false,
    ),
    (
        r##"google.api_core.exceptions.InvalidArgument: 400 rejected"##,
        InvalidRequest,
        false,
    ),
    (
        r##"google.api_core.exceptions.InternalServerError: 500 broke"##,
        ServerError,
        true,
    ),
    (
        r##"mistralai.models.sdkerror.SDKError: API error occurred: Status 429"##,
        RateLimit,
        true,
    ),
    (r##"groq.RateLimitError: slow down"##, RateLimit, true),
    (
        r##"cohere.errors.TooManyRequestsError: status_code: 429"##,
        RateLimit,
        true,
    ),
    (
        r##"cohere.errors.UnauthorizedError: status_code: 401"##,
        Auth,
        false,
    ),
    (
        r##"Azure.RequestFailedException: Service request failed. Status: 503 (Service Unavailable)"##,
        Overloaded,
        true,
    ),
    (
        r##"Azure.RequestFailedException: Service request failed. Status: 429 (Too Many Requests)"##,
        RateLimit,
        true,
    ),
];

/// Providers' own words for a window that resets and for an allowance that
/// is spent (OpenAI, Anthropic, Gemini, DeepSeek, Mistral, Groq, DashScope,
/// Zhipu, xAI, OpenRouter, Together, Fireworks, Bedrock): waiting helps only
/// the first. Gemini's quota is a window unless its limit is zero;
/// DashScope's "allocated quota" is its per-minute token allowance.
const LIMITS: &[(&str, ErrorCategory, bool)] = &[
    (r##"PAYMENT_METHOD_REQUIRED"##, QuotaExhausted, false),
    (
        r##"Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit 30000, Used 29500, Requested 1200. Please try again in 1.4s."##,
        RateLimit,
        true,
    ),
    (
        r##"Rate limit reached for gpt-4o-mini in organization org-abc on requests per day (RPD): Limit 10000, Used 10000, Requested 1. Please try again in 8.64s."##,
        RateLimit,
        true,
    ),
    (
        r##"You exceeded your current quota, please check your plan and billing details."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"This request would exceed the rate limit for your organization of 40,000 input tokens per minute."##,
        RateLimit,
        true,
    ),
    (
        r##"Number of request tokens has exceeded your per-minute rate limit"##,
        RateLimit,
        true,
    ),
    (
        r##"Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"You have reached your specified API usage limits. You will regain access on 2026-01-01 at 00:00 UTC."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 0, model: gemini-2.5-pro"##,
        QuotaExhausted,
        false,
    ),
    (
        r##"Quota exceeded for metric: generativelanguage.googleapis.com/generate_content_free_tier_requests, limit: 10, model: gemini-2.5-flash. Please retry in 27.5s."##,
        RateLimit,
        true,
    ),
    (r##"Insufficient Balance"##, QuotaExhausted, false),
    (r##"Requests rate limit exceeded"##, RateLimit, true),
    (
        r##"Rate limit reached for model `llama-3.3-70b-versatile` in organization `org_x` service tier `on_demand` on tokens per minute (TPM): Limit 6000, Used 5800, Requested 900. Please try again in 7s."##,
        RateLimit,
        true,
    ),
    (
        r##"Rate limit reached for model `llama-3.1-8b-instant` in organization `org_x` service tier `on_demand` on requests per day (RPD): Limit 14400, Used 14400, Requested 1. Please try again in 6s."##,
        RateLimit,
        true,
    ),
    (
        r##"Access denied, please make sure your account is in good standing. (Arrearage)"##,
        QuotaExhausted,
        false,
    ),
    (
        r##"Allocated quota exceeded, please increase your quota limit."##,
        RateLimit,
        true,
    ),
    (
        r##"余额不足或无可用资源包,请充值。"##,
        QuotaExhausted,
        false,
    ),
    (
        r##"您当前使用该API的并发数过高，请降低并发，或联系客服增加限额。"##,
        RateLimit,
        true,
    ),
    (
        r##"Your team has either used all available credits or reached its monthly spending limit. To continue making API requests, please purchase more credits or raise your spending limit."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"Insufficient credits. This account never purchased credits. Make sure your key is on the correct account or org."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"Rate limit exceeded: free-models-per-min."##,
        RateLimit,
        true,
    ),
    (
        r##"You have exceeded your rate limit of 600 requests per minute. Please try again later."##,
        RateLimit,
        true,
    ),
    (
        r##"Request rate limit exceeded. Please slow down."##,
        RateLimit,
        true,
    ),
    (
        r##"You have exceeded your monthly included credits. Upgrade your plan to continue."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"This request requires more credits, or fewer max_tokens. You requested up to 4096 tokens, but can only afford 1000."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"Too many requests, please wait before trying again."##,
        RateLimit,
        true,
    ),
    (
        r##"The free tier of the model has been exhausted."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"TPM limit reached. Please wait 20 seconds."##,
        RateLimit,
        true,
    ),
    (
        r##"ThrottlingException: Too many tokens, please wait before trying again."##,
        RateLimit,
        true,
    ),
    (r##"Monthly token quota exhausted."##, QuotaExhausted, false),
];

/// A prompt over the model's window, as providers and servers word it
/// (OpenAI, Anthropic, Gemini, Mistral, DeepSeek, Groq, Bedrock, llama.cpp,
/// TGI, Cohere, DashScope, Moonshot, xAI, OpenRouter), against a body, an
/// image or a file over a byte limit: only the first is cured by a model
/// with a larger context.
const SIZES: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages."##,
        ContextLength,
        false,
    ),
    (
        r##"prompt is too long: 210012 tokens > 200000 maximum"##,
        ContextLength,
        false,
    ),
    (
        r##"The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."##,
        ContextLength,
        false,
    ),
    (
        r##"Prompt contains 40000 tokens and 0 draft tokens, too large for model with 32768 maximum context length"##,
        ContextLength,
        false,
    ),
    (
        r##"This model's maximum context length is 65536 tokens. However, you requested 70000 tokens (66000 in the messages, 4000 in the completion). Please reduce the length of the messages or completion."##,
        ContextLength,
        false,
    ),
    (
        r##"Please reduce the length of the messages or completion."##,
        ContextLength,
        false,
    ),
    (
        r##"Input is too long for requested model."##,
        ContextLength,
        false,
    ),
    (r##"too many input tokens"##, ContextLength, false),
    (
        r##"the request exceeds the available context size, try increasing it"##,
        ContextLength,
        false,
    ),
    (
        r##"Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. Given: 4000 `inputs` tokens and 200 `max_new_tokens`"##,
        ContextLength,
        false,
    ),
    (
        r##"too many tokens: total number of tokens in the prompt cannot exceed 4081 - received 5000. Try using a shorter prompt, or enabling prompt truncating."##,
        ContextLength,
        false,
    ),
    (
        r##"Range of input length should be [1, 30720]"##,
        ContextLength,
        false,
    ),
    (
        r##"Invalid request: Your request exceeded model token limit: 8192"##,
        ContextLength,
        false,
    ),
    (
        r##"This model's maximum prompt length is 131072 but the request contains 140000 tokens."##,
        ContextLength,
        false,
    ),
    (
        r##"This endpoint's maximum context length is 8192 tokens. However, you requested about 9000 tokens (8000 of text input, 1000 in the output). Please reduce the length of either one."##,
        ContextLength,
        false,
    ),
    (
        r##"input length and `max_tokens` exceed context limit: 199000 + 8192 > 200000, decrease input length or `max_tokens` and try again"##,
        ContextLength,
        false,
    ),
    (
        r##"The prompt is too long for this model's context window"##,
        ContextLength,
        false,
    ),
    (r##"context_length_exceeded"##, ContextLength, false),
    (
        r##"Input tokens exceed the configured limit of 272000 tokens."##,
        ContextLength,
        false,
    ),
    (r##"413 Request Entity Too Large"##, InvalidRequest, false),
    (r##"Payload Too Large"##, InvalidRequest, false),
    (
        r##"request_too_large: Request exceeds the maximum allowed number of bytes."##,
        InvalidRequest,
        false,
    ),
    (
        r##"Request payload size exceeds the limit: 20971520 bytes."##,
        InvalidRequest,
        false,
    ),
    (
        r##"Image too large: the maximum is 20 MB"##,
        InvalidRequest,
        false,
    ),
    (r##"file is too large: max 512 MB"##, InvalidRequest, false),
    (
        r##"image exceeds 5 MB maximum: 7340032 bytes > 5242880 bytes"##,
        InvalidRequest,
        false,
    ),
];

/// A provider out of capacity, a deadline that passed on the way, and a
/// server's own failure, in the words providers, model servers and proxies
/// use: all worth a retry, but capacity and deadlines say to wait or go
/// elsewhere, a failure only to try again.
const CAPACITY: &[(&str, ErrorCategory, bool)] = &[
    (r##"Overloaded"##, Overloaded, true),
    (
        r##"The model is currently overloaded. Please try again later."##,
        Overloaded,
        true,
    ),
    (
        r##"The server is overloaded or not ready yet."##,
        Overloaded,
        true,
    ),
    (
        r##"That model is currently overloaded with other requests. You can retry your request."##,
        Overloaded,
        true,
    ),
    (
        r##"The model is overloaded. Please try again later."##,
        Overloaded,
        true,
    ),
    (
        r##"We're experiencing high demand for this model. Please try again shortly."##,
        Overloaded,
        true,
    ),
    (
        r##"The service is currently unavailable."##,
        Overloaded,
        true,
    ),
    (r##"Service Unavailable"##, Overloaded, true),
    (
        r##"Model is currently loading, estimated time 20.0 seconds"##,
        Overloaded,
        true,
    ),
    (r##"Server busy, please try again later"##, Overloaded, true),
    (
        r##"No capacity available for this model at the moment"##,
        Overloaded,
        true,
    ),
    (
        r##"The engine is currently overloaded, please try again later"##,
        Overloaded,
        true,
    ),
    (r##"Model busy, retry later"##, Overloaded, true),
    (
        r##"All the replicas for this model are busy"##,
        Overloaded,
        true,
    ),
    (r##"upstream request timeout"##, Timeout, true),
    (r##"Gateway Timeout"##, Timeout, true),
    (
        r##"The request timed out before the model responded"##,
        Timeout,
        true,
    ),
    (r##"Deadline exceeded"##, Timeout, true),
    (r##"504 Gateway Time-out"##, Timeout, true),
    (r##"stream timeout"##, Timeout, true),
    (
        r##"The server had an error while processing your request. Sorry about that!"##,
        ServerError,
        true,
    ),
    (r##"Internal server error"##, ServerError, true),
    (
        r##"An unexpected error occurred on the server"##,
        ServerError,
        true,
    ),
    (r##"Bad Gateway"##, ServerError, true),
    (
        r##"upstream connect error or disconnect/reset before headers. reset reason: connection failure"##,
        ServerError,
        true,
    ),
    // TGI's failure mid-generation names its cause after its own words.
    (
        r##"Request failed during generation: Server error: tensors used as indices must be long, byte or bool tensors"##,
        ServerError,
        true,
    ),
    (
        r##"Request failed during generation: Server error: Out of available cache blocks: asked 107, only 4 free blocks"##,
        Overloaded,
        true,
    ),
    // uvicorn's log of a request its application failed.
    (
        r##"ERROR:    Exception in ASGI application"##,
        ServerError,
        true,
    ),
    (
        r##"Request failed due to a transient API error. Retrying..."##,
        ServerError,
        true,
    ),
    // Flask's page for an unhandled exception hedges with an overload it
    // cannot know of.
    (
        r##"The server encountered an internal error and was unable to complete your request. Either the server is overloaded or there is an error in the application."##,
        ServerError,
        true,
    ),
    // Ollama failing inside: its model runner, reached over loopback, cut
    // the call ("EOF" alone would be a reset), or the model's template
    // needs a function this Ollama lacks.
    (
        r##"Error: POST predict: Post "http://127.0.0.1:45089/completion": EOF"##,
        ServerError,
        true,
    ),
    (
        r##"Error: POST predict: Post "http://127.0.0.1:53422/completion": read tcp 127.0.0.1:53425->127.0.0.1:53422: wsarecv: An existing connection was forcibly closed by the remote host."##,
        ServerError,
        true,
    ),
    (
        r##"Error: template: :3: function "currentDate" not defined"##,
        ServerError,
        true,
    ),
];

/// A model that does not exist (or no longer does) for anyone, against a
/// wrong path or a missing object the request names, against a model this
/// account may not use, as providers word them: only the first is cured by
/// another model for every caller.
const MISSING: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"The model `gpt-5-turbo` does not exist or you do not have access to it."##,
        ModelNotFound,
        false,
    ),
    (
        r##"models/gemini-1.0-pro is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods."##,
        ModelNotFound,
        false,
    ),
    (
        r##"Invalid model: mistral-huge-latest"##,
        ModelNotFound,
        false,
    ),
    (r##"Model Not Exist"##, ModelNotFound, false),
    (
        r##"The model `llama2-70b-4096` has been decommissioned and is no longer supported."##,
        ModelNotFound,
        false,
    ),
    (
        r##"model "llama3:70b" not found, try pulling it first"##,
        ModelNotFound,
        false,
    ),
    (
        r##"The provided model identifier is invalid."##,
        ModelNotFound,
        false,
    ),
    (r##"Model not exist."##, ModelNotFound, false),
    (
        r##"No endpoints found for meta-llama/llama-2-70b-chat."##,
        ModelNotFound,
        false,
    ),
    (
        r##"Unable to access model meta-llama/Llama-9-70B. Please visit https://api.together.ai/models to view the list of supported models."##,
        ModelNotFound,
        false,
    ),
    (
        r##"The model 'grok-0' does not exist or your team does not have access to it."##,
        ModelNotFound,
        false,
    ),
    (
        r##"Model not found: claude-3-opus-2099"##,
        ModelNotFound,
        false,
    ),
    (
        r##"The requested model 'x' is not available"##,
        ModelNotFound,
        false,
    ),
    (
        r##"Invalid URL (POST /v1/chat/completion)"##,
        InvalidRequest,
        false,
    ),
    (r##"404 page not found"##, InvalidRequest, false),
    (
        r##"Unknown request URL: GET /openai/v1/model. Please check the URL for typos, or see the docs at https://console.groq.com/docs/"##,
        InvalidRequest,
        false,
    ),
    (r##"No such file: file-abc123"##, InvalidRequest, false),
    (
        r##"No thread found with id 'thread_abc'."##,
        InvalidRequest,
        false,
    ),
    (
        r##"Previous response with id 'resp_abc' not found."##,
        InvalidRequest,
        false,
    ),
    (r##"Batch not found"##, InvalidRequest, false),
    (
        r##"Project `proj_abc` does not have access to model `o3`"##,
        Permission,
        false,
    ),
    (
        r##"You do not have access to the model gpt-4.5-preview."##,
        Permission,
        false,
    ),
    (
        r##"Your organization must be verified to use the model `o3`."##,
        Permission,
        false,
    ),
    (
        r##"You don't have access to this model in your current plan."##,
        Permission,
        false,
    ),
    // FastAPI's body for a path it does not have, quoted without its 404.
    (r##""detail": "Not Found""##, InvalidRequest, false),
    (r##"{'detail': 'Not Found'}"##, InvalidRequest, false),
    // Bedrock sends the same refusal under `ValidationException`.
    (
        r##"An error occurred (ValidationException) when calling the Rerank operation: You don't have access to the model with the specified model ID."##,
        Permission,
        false,
    ),
    // A base URL no request can be built from: the configuration's path,
    // as each stack's URL parser refuses it.
    (
        r##"openai.error.APIConnectionError: Error communicating with OpenAI: Invalid URL '/chat/completions': No scheme supplied. Perhaps you meant https:///chat/completions?"##,
        InvalidRequest,
        false,
    ),
    (
        r##"httpx.UnsupportedProtocol: Request URL is missing an 'http://' or 'https://' protocol."##,
        InvalidRequest,
        false,
    ),
    (
        r##"TypeError: Failed to construct 'URL': Invalid URL"##,
        InvalidRequest,
        false,
    ),
    (
        r##"TypeError [ERR_INVALID_URL]: Invalid URL"##,
        InvalidRequest,
        false,
    ),
    (
        r##"Post "localhost:11434/v1/chat/completions": unsupported protocol scheme "localhost""##,
        InvalidRequest,
        false,
    ),
    (
        r##"builder error: relative URL without a base"##,
        InvalidRequest,
        false,
    ),
    (
        r##"curl: (3) URL using bad/illegal format or missing URL"##,
        InvalidRequest,
        false,
    ),
    // Claude Code's words for a model the endpoint does not serve, and
    // Azure's model that needs a newer API version.
    (
        r##"There's an issue with the selected model (claude-sonnet-4-6). It may not exist or you may not have access to it. Run /model to pick a different model."##,
        ModelNotFound,
        false,
    ),
    (
        r##"Claude Opus 4.5 is no longer available. Please switch to Claude Opus 4.6."##,
        ModelNotFound,
        false,
    ),
    // LiteLLM's router, asked for a model group it does not have.
    (
        r##"litellm.BadRequestError: You passed in model=text-completion-codestral/codestral-latest. There is no 'model_name' with this string"##,
        ModelNotFound,
        false,
    ),
    (
        r##"Model {modelName} is enabled only for api versions 2024-12-01-preview and later"##,
        InvalidRequest,
        false,
    ),
];

/// A credential missing, wrong, expired or revoked, against a valid one
/// this account or place may not use, as providers and cloud SDKs word
/// them (OpenAI, Anthropic, Gemini, DeepSeek, Azure, Google Cloud, AWS,
/// OpenRouter, Zhipu): a new key cures only the first.
const CREDENTIALS: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"Incorrect API key provided: sk-abc***xyz. You can find your API key at https://platform.openai.com/account/api-keys."##,
        Auth,
        false,
    ),
    (r##"invalid x-api-key"##, Auth, false),
    (
        r##"API key not valid. Please pass a valid API key."##,
        Auth,
        false,
    ),
    (
        r##"Authentication Fails, Your api key: ****abcd is invalid"##,
        Auth,
        false,
    ),
    (r##"Unauthorized"##, Auth, false),
    (r##"Invalid API Key"##, Auth, false),
    (
        r##"The security token included in the request is invalid."##,
        Auth,
        false,
    ),
    (
        r##"The request signature we calculated does not match the signature you provided."##,
        Auth,
        false,
    ),
    (
        r##"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."##,
        Auth,
        false,
    ),
    (
        r##"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential."##,
        Auth,
        false,
    ),
    (r##"No auth credentials found"##, Auth, false),
    (
        r##"Missing bearer or basic authentication in header"##,
        Auth,
        false,
    ),
    (
        r##"You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth."##,
        Auth,
        false,
    ),
    (
        r##"Your API key has expired. Please renew it."##,
        Auth,
        false,
    ),
    (
        r##"The API key you provided has been revoked."##,
        Auth,
        false,
    ),
    (r##"令牌已过期或验证不正确"##, Auth, false),
    (r##"Invalid Authentication"##, Auth, false),
    (
        r##"Could not resolve authentication method. Expected either apiKey or authToken to be set."##,
        Auth,
        false,
    ),
    (
        r##"google.auth.exceptions.DefaultCredentialsError: Your default credentials were not found."##,
        Auth,
        false,
    ),
    (r##"Unable to locate credentials"##, Auth, false),
    (
        r##"ExpiredTokenException: The security token included in the request is expired"##,
        Auth,
        false,
    ),
    (
        r##"Permission denied: Consumer 'api_key:AIza...' has been suspended."##,
        Permission,
        false,
    ),
    (
        r##"You are not allowed to sample from this model"##,
        Permission,
        false,
    ),
    (
        r##"This API key does not have permission to use the requested resource."##,
        Permission,
        false,
    ),
    (
        r##"User: arn:aws:iam::123:user/x is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-v2"##,
        Permission,
        false,
    ),
    (
        r##"You don't have access to the model with the specified model ID."##,
        Permission,
        false,
    ),
    (
        r##"Your request was made from an unsupported country, region, or territory."##,
        Permission,
        false,
    ),
    (
        r##"The caller does not have permission"##,
        Permission,
        false,
    ),
    // OAuth 2.0 token endpoints (RFC 6749 section 5.2, RFC 6750 section
    // 3.1), as Google's, Azure's and Baidu's credential flows return them.
    (
        r##"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"##,
        Auth,
        false,
    ),
    (
        r##"('invalid_grant: Token has been expired or revoked.', {'error': 'invalid_grant', 'error_description': 'Token has been expired or revoked.'})"##,
        Auth,
        false,
    ),
    (
        r##"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided."}"##,
        Auth,
        false,
    ),
    (
        r##"{"error_description":"unknown client id","error":"invalid_client"}"##,
        Auth,
        false,
    ),
    (
        r##"{"error":"unauthorized_client","error_description":"The client is not authorized to request a token using this method."}"##,
        Permission,
        false,
    ),
    (
        r##"Bearer error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token.""##,
        Permission,
        false,
    ),
    (
        r##"Request had insufficient authentication scopes."##,
        Permission,
        false,
    ),
    // IBM Cloud IAM's token endpoint, in front of watsonx.
    (
        r##"{"errorCode":"BXNIM0415E","errorMessage":"Provided API key could not be found.","context":{"requestType":"incoming.Identity_Token"}}"##,
        Auth,
        false,
    ),
    (r##"No valid api key found"##, Auth, false),
    (
        r##"No OpenAI API key provided. Use --openai-api-key or export OPENAI_API_KEY."##,
        Auth,
        false,
    ),
    (
        r##"OpenAI::ConfigurationError: OpenAI access token missing! See https://github.com/alexrudall/ruby-openai#usage"##,
        Auth,
        false,
    ),
    (r##"security token is invalid"##, Auth, false),
    (
        r##"400 Provider not allowed for organization"##,
        Permission,
        false,
    ),
    // British spelling, as some gateways and apps write it.
    (r##""error": "Unauthorised""##, Auth, false),
    (r##"Authorisation failed: bad token"##, Auth, false),
    (
        r##"You are not authorised to access this workspace."##,
        Permission,
        false,
    ),
    // Bedrock's models whose makers want a use case first.
    (
        r##"You have not filled out the required use-case form for this model. Complete the form in the Amazon Bedrock console before requesting access."##,
        Permission,
        false,
    ),
    // An app or an extension with no account signed in to call with.
    (
        r##"Failed to load Models for project p: You are not signed in to an Azure account. Please sign in."##,
        Auth,
        false,
    ),
    (r##"Error: not logged in"##, Auth, false),
    // A free tier bound to the product that offers it.
    (
        r##"Error from provider (Console): OpenCode's free tier can only be used from within OpenCode"##,
        Permission,
        false,
    ),
    // "认证失败" weighs as "authentication failed" does: alone it is the
    // credential, but it is also a wrapper's word, below any cause after it.
    (r##"认证失败"##, Auth, false),
    (
        r##"认证失败: fetch project list: Get "https://cloudresourcemanager.googleapis.com/v1/projects": EOF"##,
        Network,
        true,
    ),
    (
        r##"{"code": 1002, "message": "身份验证信息不正确！非法用户", "data": null}"##,
        Auth,
        false,
    ),
    // Google's key restricted from an API, and Firebase's API not enabled.
    (
        r##"Requests to this API firebasevertexai.googleapis.com method google.firebase.vertexai.v1beta.PredictionService.Predict are blocked."##,
        Permission,
        false,
    ),
    (
        r##"The Vertex AI in Firebase SDK requires the Vertex AI in Firebase API (`firebasevertexai.googleapis.com`) to be enabled in your Firebase project."##,
        Permission,
        false,
    ),
    (
        r##"graphrag.config.errors.ApiKeyMissingError: API Key is required for Completion API."##,
        Auth,
        false,
    ),
    (r##"API key missing"##, Auth, false),
    (r##"You need to use an API key"##, Auth, false),
    // Cloudflare's block page, as a client logs it without its 403.
    (
        r##"owner to let them know you were blocked. Please include what you were doing when this page came up and the Cloudflare Ray ID found at the bottom of this page."##,
        Permission,
        false,
    ),
    (
        r##"The API Key appears to be invalid or may have expired. Please verify your credentials and try again."##,
        Auth,
        false,
    ),
];

/// A prompt or an answer a provider's safety system refused (OpenAI,
/// Azure, Anthropic, Gemini, Bedrock, DeepSeek, DashScope, Zhipu,
/// Moonshot): the same content is refused again, anywhere alike.
const FILTERS: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system."##,
        ContentFilter,
        false,
    ),
    (
        r##"The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry."##,
        ContentFilter,
        false,
    ),
    (
        r##"Output blocked by content filtering policy"##,
        ContentFilter,
        false,
    ),
    (
        r##"Response was blocked due to PROHIBITED_CONTENT"##,
        ContentFilter,
        false,
    ),
    (
        r##"The candidate was blocked for SAFETY reasons"##,
        ContentFilter,
        false,
    ),
    (
        r##"Guardrail intervened and blocked the request"##,
        ContentFilter,
        false,
    ),
    (r##"Content Exists Risk"##, ContentFilter, false),
    (
        r##"Input data may contain inappropriate content."##,
        ContentFilter,
        false,
    ),
    (
        r##"系统检测到输入或生成内容可能包含不安全或敏感内容，请您避免输入易产生敏感内容的提示语，感谢您的配合。"##,
        ContentFilter,
        false,
    ),
    (
        r##"The request was rejected because it was considered high risk"##,
        ContentFilter,
        false,
    ),
    (
        r##"Invalid prompt: your prompt was flagged as potentially violating our usage policy."##,
        ContentFilter,
        false,
    ),
    (
        r##"This content may violate our usage policies."##,
        ContentFilter,
        false,
    ),
    (
        r##"The prompt was blocked by the moderation model."##,
        ContentFilter,
        false,
    ),
    (
        r##"data_inspection_failed: Output data may contain inappropriate content."##,
        ContentFilter,
        false,
    ),
    (
        r##"Request blocked: the content was flagged by our moderation system."##,
        ContentFilter,
        false,
    ),
    // GitHub Copilot's filter of answers that repeat public code.
    (
        r##"Sorry, the response matched public code so it was blocked. Please rephrase your prompt."##,
        ContentFilter,
        false,
    ),
    (
        r##"Unfortunately, the response was filtered by the Responsible AI Service. Please rephrase your prompt and try again."##,
        ContentFilter,
        false,
    ),
    // ModelScope's words for DashScope's `data_inspection_failed`.
    (
        r##"output content security inspection failed by Modelscope."##,
        ContentFilter,
        false,
    ),
    // Anthropic's safeguards, as Claude Code reports them.
    (
        r##"API Error: Claude Opus's safeguards flagged this message"##,
        ContentFilter,
        false,
    ),
];

/// What a stream that had begun says when it stops: a transport cut in
/// each stack's words, or an error event in each provider's shape, which
/// names its own cause.
const IN_STREAM: &[(&str, ErrorCategory, bool)] = &[
    (r##"error decoding response body"##, StreamInterrupted, true),
    (
        r##"connection closed before message completed"##,
        StreamInterrupted,
        true,
    ),
    (r##"unexpected EOF"##, StreamInterrupted, true),
    (r##"Premature close"##, StreamInterrupted, true),
    (r##"TypeError: terminated"##, StreamInterrupted, true),
    (
        r##"peer closed connection without sending complete message body (incomplete chunked read)"##,
        StreamInterrupted,
        true,
    ),
    (r##"Response ended prematurely"##, StreamInterrupted, true),
    (r##"IncompleteRead(0 bytes read)"##, StreamInterrupted, true),
    (
        r##"SocketError: other side closed"##,
        StreamInterrupted,
        true,
    ),
    (r##"Error: socket hang up"##, StreamInterrupted, true),
    (
        r##"requests.exceptions.ChunkedEncodingError: ('Connection broken: IncompleteRead(0 bytes read)', IncompleteRead(0 bytes read))"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"stream error: stream ID 3; INTERNAL_ERROR; received from peer"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"java.io.EOFException: \n not found: limit=0 content=…"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"The network connection was lost."##,
        StreamInterrupted,
        true,
    ),
    (
        r##"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"##,
        Overloaded,
        true,
    ),
    (
        r##"{"error":{"message":"Rate limit exceeded: free-models-per-min.","code":429}}"##,
        RateLimit,
        true,
    ),
    (
        r##"{"type":"response.failed","response":{"id":"resp_1","status":"failed","error":{"code":"server_error","message":"The model failed to generate a response."}}}"##,
        ServerError,
        true,
    ),
    (
        r##"{"throttlingException":{"message":"Too many tokens, please wait before trying again."}}"##,
        RateLimit,
        true,
    ),
    (
        r##"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 201000 tokens > 200000 maximum"}}"##,
        ContextLength,
        false,
    ),
    (
        r##"{"choices":[{"index":0,"delta":{},"finish_reason":"content_filter"}]}"##,
        ContentFilter,
        false,
    ),
    (
        r##"{"error":{"message":"Internal server error","type":"server_error","code":500}}"##,
        ServerError,
        true,
    ),
    (
        r##"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"##,
        Overloaded,
        true,
    ),
];

/// The documented error codes and messages of DashScope, Zhipu, Baidu's
/// ERNIE, Moonshot, MiniMax, DeepSeek and Volcengine Ark, in their own
/// words and languages.
const CHINESE_PROVIDERS: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"Throttling.RateQuota: Requests rate limit exceeded, please try again later."##,
        RateLimit,
        true,
    ),
    (
        r##"Arrearage: Access denied, please make sure your account is in good standing."##,
        QuotaExhausted,
        false,
    ),
    (r##"InvalidApiKey: Invalid API-key provided."##, Auth, false),
    (
        r##"Model.AccessDenied: Model access denied."##,
        Permission,
        false,
    ),
    (
        r##"DataInspectionFailed: Input data may contain inappropriate content."##,
        ContentFilter,
        false,
    ),
    (
        r##"InternalError: An internal error has occured, please try again later or contact service support."##,
        ServerError,
        true,
    ),
    (
        r##"InvalidParameter: Range of max_tokens should be [1, 8192]"##,
        InvalidRequest,
        false,
    ),
    (
        r##"Header中未收到Authorization参数，无法进行身份验证。"##,
        Auth,
        false,
    ),
    (
        r##"Authorization Token非法，请确认Authorization Token正确传递。"##,
        Auth,
        false,
    ),
    (r##"Authorization Token过期"##, Auth, false),
    (r##"您的账户已欠费，请充值后重试。"##, QuotaExhausted, false),
    (r##"模型不存在，请检查模型代码。"##, ModelNotFound, false),
    (r##"Prompt 超长"##, ContextLength, false),
    (
        r##"您当前使用该API的频率过高，请降低频率，或联系客服增加限额。"##,
        RateLimit,
        true,
    ),
    (r##"该API已达今日调用次数限额"##, RateLimit, true),
    (r##"Open api qps request limit reached"##, RateLimit, true),
    (r##"Open api daily request limit reached"##, RateLimit, true),
    (r##"Access token invalid or no longer valid"##, Auth, false),
    (r##"Access token expired"##, Auth, false),
    (r##"Rate limit reached for TPM"##, RateLimit, true),
    (r##"No permission to access data"##, Permission, false),
    (
        r##"exceeded_current_quota_error: Your account is suspended due to insufficient balance"##,
        QuotaExhausted,
        false,
    ),
    (
        r##"rate_limit_reached_error: Your account reached max request"##,
        RateLimit,
        true,
    ),
    (
        r##"engine_overloaded_error: The engine is currently overloaded, please try again later"##,
        Overloaded,
        true,
    ),
    (
        r##"invalid_authentication_error: Invalid Authentication"##,
        Auth,
        false,
    ),
    (r##"insufficient balance"##, QuotaExhausted, false),
    (r##"authentication failed"##, Auth, false),
    (r##"output new_sensitive"##, ContentFilter, false),
    (r##"Invalid Format"##, InvalidRequest, false),
    (r##"Authentication Fails"##, Auth, false),
    (r##"Invalid Parameters"##, InvalidRequest, false),
    (r##"Rate Limit Reached"##, RateLimit, true),
    (r##"Server Overloaded"##, Overloaded, true),
    (
        r##"ServerOverloaded: The service is currently unable to handle additional requests due to server overload."##,
        Overloaded,
        true,
    ),
    (
        r##"RateLimitExceeded.EndpointRPMExceeded: The request has exceeded the RPM limit of the endpoint."##,
        RateLimit,
        true,
    ),
    (
        r##"AccountOverdueError: The request failed because your account has an overdue balance."##,
        QuotaExhausted,
        false,
    ),
    (
        r##"InvalidEndpointOrModel.NotFound: The model or endpoint doesn't exist or you do not have access to it."##,
        ModelNotFound,
        false,
    ),
    (
        r##"SensitiveContentDetected: The request failed because the input text may contain sensitive information."##,
        ContentFilter,
        false,
    ),
    (
        r##"ModelNotOpen: Your account has not activated the model service."##,
        Permission,
        false,
    ),
    // Zhipu's 1212: a mode the current model does not support.
    (
        r##"[1212][当前模型不支持SSE调用方式。]"##,
        InvalidRequest,
        false,
    ),
];

/// What the hops in front of a provider say in their own words:
/// Cloudflare, Vercel, Heroku, Azure API Management, AWS API Gateway,
/// nginx and Envoy. (Left out: API Gateway's "Missing Authentication
/// Token", which means a wrong path as often as a missing signature, and
/// Kong's "invalid response … from the upstream server", which a 502 that
/// carries it decides.)
const GATEWAYS: &[(&str, ErrorCategory, bool)] = &[
    (
        r##"Error 1015: You are being rate limited."##,
        RateLimit,
        true,
    ),
    (r##"Error 1020: Access denied"##, Permission, false),
    (r##"FUNCTION_INVOCATION_TIMEOUT"##, Timeout, true),
    (r##"H12 - Request timeout"##, Timeout, true),
    (
        r##"Rate limit is exceeded. Try again in 5 seconds."##,
        RateLimit,
        true,
    ),
    (
        r##"Out of call volume quota. Quota will be replenished in 00:10:00."##,
        RateLimit,
        true,
    ),
    (
        r##"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."##,
        Auth,
        false,
    ),
    (r##"Endpoint request timed out"##, Timeout, true),
    (
        r##"upstream prematurely closed connection while reading upstream"##,
        StreamInterrupted,
        true,
    ),
    (
        r##"upstream timed out (110: Connection timed out) while reading response header from upstream"##,
        Timeout,
        true,
    ),
    (r##"no healthy upstream"##, Overloaded, true),
    (
        r##"upstream connect error or disconnect/reset before headers. reset reason: connection termination"##,
        ServerError,
        true,
    ),
    (r##"503 Service Temporarily Unavailable"##, Overloaded, true),
    (
        r##"The gateway did not receive a timely response from the upstream server or application."##,
        Timeout,
        true,
    ),
    (r##"Worker threw exception"##, ServerError, true),
    (r##"Error 524: A timeout occurred"##, Timeout, true),
    (r##"Error 502: Bad gateway"##, ServerError, true),
];

/// The same transport failures in other words: curl's own messages (what
/// `curl_easy_strerror` returns, in the wording of every release since
/// 7.17: "Couldn't" until 8.8, "Could not" after), the C library's messages
/// in its German, French, Spanish, Italian, Brazilian Portuguese, Russian,
/// Chinese, Japanese and Korean translations (glibc's, old wording and
/// new), and Windows' socket errors as localised systems print them. A
/// client quotes them bare, as the operating system gave them.
const OTHER_WORDS_FOR_TRANSPORT: &[(&str, ErrorCategory, bool)] = &[
    (r##"Unsupported protocol"##, InvalidRequest, false),
    (r##"Couldn't resolve proxy name"##, Network, true),
    (r##"Could not resolve proxy name"##, Network, true),
    (r##"Couldn't resolve host name"##, Network, true),
    (r##"Could not resolve hostname"##, Network, true),
    (r##"Couldn't connect to server"##, Network, true),
    (r##"Could not connect to server"##, Network, true),
    (
        r##"Server returned nothing (no headers, no data)"##,
        Network,
        true,
    ),
    (
        r##"Problem with the local SSL certificate"##,
        Network,
        false,
    ),
    (r##"Failed sending data to the peer"##, Network, true),
    (
        r##"Failure when receiving data from the peer"##,
        Network,
        true,
    ),
    (r##"SSL peer certificate was not OK"##, Network, false),
    (
        r##"Peer certificate cannot be authenticated with known CA certificates"##,
        Network,
        false,
    ),
    (
        r##"Peer certificate cannot be authenticated with given CA certificates"##,
        Network,
        false,
    ),
    (
        r##"Problem with the SSL CA cert (path? access rights?)"##,
        Network,
        false,
    ),
    (r##"Timeout was reached"##, Timeout, true),
    (
        r##"SSL peer certificate or SSH md5 fingerprint was not OK"##,
        Network,
        false,
    ),
    (
        r##"SSL peer certificate or SSH remote key was not OK"##,
        Network,
        false,
    ),
    (r##"Error in the HTTP2 framing layer"##, Network, true),
    (r##"Connection refused"##, Network, true),
    (r##"Connection timed out"##, Timeout, true),
    (r##"Connection reset by peer"##, Network, true),
    (r##"No route to host"##, Network, true),
    (r##"Network is unreachable"##, Network, true),
    (r##"Name or service not known"##, Network, true),
    (r##"Temporary failure in name resolution"##, Network, true),
    (r##"No address associated with hostname"##, Network, true),
    (r##"Verbindungsaufbau abgelehnt"##, Network, true),
    (
        r##"Die Wartezeit für die Verbindung ist abgelaufen"##,
        Timeout,
        true,
    ),
    (
        r##"Die Verbindung wurde vom Kommunikationspartner zurückgesetzt"##,
        Network,
        true,
    ),
    (r##"Keine Route zum Zielrechner"##, Network, true),
    (r##"Das Netzwerk ist nicht erreichbar"##, Network, true),
    (r##"Connexion refusée"##, Network, true),
    (
        r##"Connexion terminée par expiration du délai d'attente"##,
        Timeout,
        true,
    ),
    (
        r##"Connexion ré-initialisée par le correspondant"##,
        Network,
        true,
    ),
    (
        r##"Aucun chemin d'accès pour atteindre l'hôte cible"##,
        Network,
        true,
    ),
    (r##"Le réseau n'est pas accessible."##, Network, true),
    (r##"Conexión rehusada"##, Network, true),
    (r##"Expiró el tiempo de conexión"##, Timeout, true),
    (
        r##"Conexión reinicializada por la máquina remota"##,
        Network,
        true,
    ),
    (r##"No existe ninguna ruta hasta el `host'"##, Network, true),
    (r##"La red es inaccesible"##, Network, true),
    (r##"연결이 거부됨"##, Network, true),
    (r##"연결 시간 초과"##, Timeout, true),
    (r##"연결이 상대편에 의해 끊어짐"##, Network, true),
    (r##"상대편이 연결을 끊음"##, Network, true),
    (r##"호스트로 갈 루트가 없음"##, Network, true),
    (r##"네트워크가 접근 불가능합니다"##, Network, true),
    (r##"Connessione rifiutata"##, Network, true),
    (r##"Timeout della connessione"##, Timeout, true),
    (r##"Connessione scaduta"##, Timeout, true),
    (
        r##"Connessione abbattuta dal corrispondente"##,
        Network,
        true,
    ),
    (
        r##"Connessione interrotta dal corrispondente"##,
        Network,
        true,
    ),
    (r##"Non c'è una route verso l'host"##, Network, true),
    (r##"Nessun instradamento per l'host"##, Network, true),
    (r##"La rete non è raggiungibile"##, Network, true),
    (r##"Conexão recusada"##, Network, true),
    (r##"Tempo esgotado para conexão"##, Timeout, true),
    (r##"Conexão fechada pela outra ponta"##, Network, true),
    (r##"Não há rota para o host"##, Network, true),
    (r##"A rede está fora de alcance"##, Network, true),
    (r##"連線被拒絕"##, Network, true),
    (r##"連線超過時間"##, Timeout, true),
    (r##"連線被對方重設"##, Network, true),
    (r##"找不到通往該主機的路由路徑"##, Network, true),
    (r##"無法接觸網路"##, Network, true),
    (r##"接続を拒否されました"##, Network, true),
    (r##"接続タイムアウトです"##, Timeout, true),
    (r##"接続がタイムアウトしました"##, Timeout, true),
    (r##"接続を他からリセットされました"##, Network, true),
    (r##"接続が他からリセットされました"##, Network, true),
    (r##"接続が相手からリセットされました"##, Network, true),
    (r##"ホストへの経路がありません"##, Network, true),
    (r##"ネットワークに届きません"##, Network, true),
    (r##"拒绝连接"##, Network, true),
    (r##"连接被拒绝"##, Network, true),
    (r##"连接超时"##, Timeout, true),
    (r##"连接被对方重设"##, Network, true),
    (r##"连接被对方重置"##, Network, true),
    (r##"没有到主机的路由"##, Network, true),
    (r##"网络不可达"##, Network, true),
    (r##"В соединении отказано"##, Network, true),
    (r##"Время ожидания соединения истекло"##, Timeout, true),
    (r##"Соединение сброшено другой стороной"##, Network, true),
    (r##"Соединение разорвано другой стороной"##, Network, true),
    (r##"Нет пути до хоста"##, Network, true),
    (r##"Нет маршрута до узла"##, Network, true),
    (r##"Сеть недоступна"##, Network, true),
    (
        r##"Der Name oder der Dienst ist nicht bekannt"##,
        Network,
        true,
    ),
    (
        r##"Temporärer Fehler bei der Namensauflösung"##,
        Network,
        true,
    ),
    (
        r##"Zu diesem Hostnamen gehört keine Adresse"##,
        Network,
        true,
    ),
    (r##"Nom ou service inconnu"##, Network, true),
    (
        r##"Échec temporaire dans la résolution du nom"##,
        Network,
        true,
    ),
    (
        r##"Aucune adresse associée avec le nom de l'hôte"##,
        Network,
        true,
    ),
    (r##"Nombre o servicio desconocido"##, Network, true),
    (
        r##"Fallo temporal en la resolución del nombre"##,
        Network,
        true,
    ),
    (
        r##"No existe ninguna dirección asociada al nombre"##,
        Network,
        true,
    ),
    (r##"Nome o servizio sconosciuto"##, Network, true),
    (
        r##"Errore temporaneo nella risoluzione del nome"##,
        Network,
        true,
    ),
    (
        r##"Nessun indirizzo associato al nome host"##,
        Network,
        true,
    ),
    (r##"Nome ou serviço desconhecido"##, Network, true),
    (r##"Falha temporário na resolução de nome"##, Network, true),
    (r##"Não há endereço associado com o nome"##, Network, true),
    (r##"Неизвестное имя или служба"##, Network, true),
    (r##"Временный сбой в разрешении имен"##, Network, true),
    (
        r##"С именем узла не связано ни одного адреса"##,
        Network,
        true,
    ),
    (r##"名称或服务未知"##, Network, true),
    (r##"域名解析出现暂时性错误"##, Network, true),
    (r##"没有与主机名关联的地址"##, Network, true),
    (r##"名稱或服務未知"##, Network, true),
    (r##"解析名稱時發生暫時性錯誤"##, Network, true),
    (r##"沒有位址關聯至此主機名稱"##, Network, true),
    (r##"名前またはサービスが不明です"##, Network, true),
    (r##"名前解決に一時的に失敗しました"##, Network, true),
    (
        r##"ホスト名にアドレスが割り当てられていません"##,
        Network,
        true,
    ),
    (r##"이름 혹은 서비스를 알 수 없습니다"##, Network, true),
    (r##"name resolution에서 일시적인 실패"##, Network, true),
    (r##"호스트이름과 대응되는 주소가 없음"##, Network, true),
    (
        r##"No connection could be made because the target machine actively refused it."##,
        Network,
        true,
    ),
    (
        r##"A connection attempt failed because the connected party did not properly respond after a period of time, or established connection failed because connected host has failed to respond."##,
        Timeout,
        true,
    ),
    (r##"由于目标计算机积极拒绝，无法连接。"##, Network, true),
    (
        r##"No se puede establecer una conexión ya que el equipo de destino denegó expresamente dicha conexión."##,
        Network,
        true,
    ),
    (
        r##"Aucune connexion n’a pu être établie car l’ordinateur cible l’a expressément refusée."##,
        Network,
        true,
    ),
    (
        r##"Подключение не установлено, т.к. конечный компьютер отверг запрос на подключение."##,
        Network,
        true,
    ),
    (
        r##"由于连接方在一段时间后没有正确答复或连接的主机没有反应，连接尝试失败。"##,
        Timeout,
        true,
    ),
    (r##"远程主机强迫关闭了一个现有的连接。"##, Network, true),
    (
        r##"An existing connection was forcibly closed by the remote host."##,
        Network,
        true,
    ),
    (
        r##"既存の接続はリモート ホストに強制的に切断されました。"##,
        Network,
        true,
    ),
    (
        r##"A socket operation was attempted to an unreachable host"##,
        Network,
        true,
    ),
    (
        r##"A socket operation was attempted to an unreachable network."##,
        Network,
        true,
    ),
    (
        r##"向一个无法连接的网络尝试了一个套接字操作。"##,
        Network,
        true,
    ),
    (
        r##"연결된 구성원으로부터 응답이 없어 연결하지 못했거나, 호스트로부터 응답이 없어 연결이 끊어졌습니다"##,
        Timeout,
        true,
    ),
    (
        r##"Se ha forzado la interrupción de una conexión existente por el host remoto"##,
        Network,
        true,
    ),
    (
        r##"Удаленный хост принудительно разорвал существующее подключение."##,
        Network,
        true,
    ),
    (
        r##"현재 연결은 원격 호스트에 의해 강제로 끊겼습니다"##,
        Network,
        true,
    ),
    (
        r##"A connection attempt failed because the connected party did not properly respond after a period of time or established connection failed because connected host has failed to respond."##,
        Timeout,
        true,
    ),
    // A client's Chinese for no answer within its wait ("did not respond
    // in 60 seconds", "did not respond within 30 seconds").
    (r##"翻译失败，插件60秒未响应"##, Timeout, true),
    (r##"请求在30秒内未响应"##, Timeout, true),
    // Windows' WSAETIMEDOUT in another Chinese wording, as Go prints it.
    (
        r##"拨打TCP 69.171.242.11：443：connectex：连接尝试失败，因为连接方在一段时间后未正确响应，或建立的连接失败，因为连接的主机无法响应。"##,
        Timeout,
        true,
    ),
];

#[test]
fn every_stacks_transport_words_name_their_failure() {
    assert_read(STACKS.iter().copied());
}

#[test]
fn curls_and_other_locales_transport_words_name_their_failure() {
    assert_read(OTHER_WORDS_FOR_TRANSPORT.iter().copied());
}

#[test]
fn every_validators_refusal_is_an_invalid_request() {
    assert_read(REFUSALS.iter().map(|&t| (t, InvalidRequest, false)));
}

#[test]
fn every_parsers_complaint_is_a_malformed_response() {
    assert_read(BROKEN_ANSWERS.iter().map(|&t| (t, MalformedResponse, true)));
}

#[test]
fn every_sdks_exception_class_names_its_failure() {
    assert_read(EXCEPTIONS.iter().copied());
}

#[test]
fn a_window_and_a_spent_allowance_are_told_apart_in_every_providers_words() {
    assert_read(LIMITS.iter().copied());
}

#[test]
fn a_prompt_over_the_window_and_a_body_over_a_byte_limit_are_told_apart() {
    assert_read(SIZES.iter().copied());
}

#[test]
fn capacity_a_deadline_and_a_servers_failure_are_told_apart() {
    assert_read(CAPACITY.iter().copied());
}

#[test]
fn a_missing_model_a_wrong_path_and_a_model_out_of_reach_are_told_apart() {
    assert_read(MISSING.iter().copied());
}

#[test]
fn a_bad_credential_and_a_good_one_out_of_reach_are_told_apart() {
    assert_read(CREDENTIALS.iter().copied());
}

#[test]
fn every_safety_refusal_is_a_content_filter() {
    assert_read(FILTERS.iter().copied());
}

#[test]
fn inside_a_stream_a_cut_is_a_cut_and_an_error_event_names_its_cause() {
    assert_read_as(IN_STREAM.iter().copied(), Failure::stream_interrupted);
}

#[test]
fn chinese_providers_documented_errors_name_their_failure() {
    assert_read(CHINESE_PROVIDERS.iter().copied());
}

#[test]
fn gateways_and_proxies_in_front_of_a_provider_name_their_failure() {
    assert_read(GATEWAYS.iter().copied());
}

#[test]
fn a_web_servers_own_404_page_is_a_wrong_path() {
    // Google's front end and Apache answer a path the API does not have
    // with their own page, whatever model the path or the client names.
    let engine = DiagnosisEngine::new();
    for text in [
        "litellm.NotFoundError: Vertex_aiException - <!DOCTYPE html>\n<html lang=en>\n<title>Error 404 (Not Found)!!1</title>\n<p><b>404.</b> <ins>That\u{2019}s an error.</ins>\n<p>The requested URL <code>/v1/projects/p/locations/global/cachedContents</code> was not found on this server.  <ins>That\u{2019}s all we know.</ins>\n. Received Model Group=gemini-2.5-flash",
        "<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1><p>The requested URL /v1/models/gpt-4o/chat was not found on this server.</p></body></html>",
    ] {
        let d = engine.diagnose(&Failure::message(text).with_status(404));
        assert_eq!(d.category, InvalidRequest, "{text}");
        assert!(d.about_target, "{text}");
    }
    // A server that names the model it lacks is not one.
    let d = engine.diagnose(
        &Failure::message("The model 'llama-9' was not found on this server.").with_status(404),
    );
    assert_eq!(d.category, ModelNotFound, "{d:?}");
}

#[test]
fn springs_status_classes_name_their_status() {
    // Spring's WebClient and RestClient raise one nested class per status
    // and print it before the status ("…Exception$BadRequest: 400 Bad
    // Request from POST …"), inside a stream as well.
    let engine = DiagnosisEngine::new();
    for (text, status, want) in [
        (
            "org.springframework.web.reactive.function.client.WebClientResponseException$TooManyRequests: 429 Too Many Requests from POST https://api.openai.com/v1/chat/completions",
            429,
            RateLimit,
        ),
        (
            "org.springframework.web.client.HttpServerErrorException$ServiceUnavailable: 503 Service Unavailable: [no body]",
            503,
            Overloaded,
        ),
        (
            "org.springframework.web.client.HttpClientErrorException.Unauthorized: 401 Unauthorized: [no body]",
            401,
            Auth,
        ),
    ] {
        let d = engine.diagnose(&Failure::message(text));
        assert_eq!((d.category, d.status), (want, Some(status)), "{text}");
    }
    let text = "org.springframework.web.reactive.function.client.WebClientResponseException$BadRequest: 400 Bad Request from POST http://localhost:11434/v1/chat/completions";
    let d = engine.diagnose(&Failure::stream_interrupted(text));
    assert_eq!((d.category, d.retryable), (InvalidRequest, false), "{text}");
}

#[test]
fn a_model_that_failed_to_load_is_not_a_list_that_failed() {
    let engine = DiagnosisEngine::new();
    for (status, text, want) in [
        (
            400,
            "Error loading models: Error: Failed to list models: 400 Bad Request",
            InvalidRequest,
        ),
        (
            400,
            "Failed to load model \"gpt-oss-20b\". Error: Error loading model.",
            ServerError,
        ),
        (
            503,
            r#"{"error":{"code":503,"message":"Loading model","type":"unavailable_error"}}"#,
            Overloaded,
        ),
    ] {
        let d = engine.diagnose(&Failure::message(text).with_status(status));
        assert_eq!(d.category, want, "{status}: {text}");
    }
    // Without a status, a model that failed to load is still the server's,
    // not WebKit's "Load failed".
    assert_read([("llama runner: model load failed", ServerError, true)]);
}

#[test]
fn tool_call_arguments_a_client_could_not_parse_are_a_broken_answer() {
    // The client could not read the arguments the model wrote; Ollama's
    // own "error parsing tool call" is the server failing on its model's
    // output.
    assert_read([
        (
            r#"ERROR | open_webui.utils.middleware:response_handler - Error parsing tool call arguments: {"note_id": "9af7", "title": "AI"#,
            MalformedResponse,
            true,
        ),
        (
            r#"ollama._types.ResponseError: error parsing tool call: raw='{"a": 1', err=unexpected end of JSON input"#,
            ServerError,
            true,
        ),
    ]);
}

#[test]
fn a_token_that_is_not_a_credential_is_not_an_auth_failure() {
    // A credential's token, named as one, is; a page's or a model's is not.
    assert_read([
        ("security token is invalid", Auth, false),
        ("Bearer token is invalid or expired", Auth, false),
    ]);
    let engine = DiagnosisEngine::new();
    for text in [
        "The page token is invalid.",
        "stop token is invalid for this tokenizer",
    ] {
        assert_ne!(
            engine.diagnose(&Failure::message(text)).category,
            Auth,
            "{text}"
        );
    }
}

#[test]
fn a_sign_in_is_a_word_not_a_page_to_log_into() {
    // xAI's 403 asks the caller to log into its console: the refusal, not
    // a missing sign-in, and the 403 decides.
    let engine = DiagnosisEngine::new();
    let d = engine.diagnose(
        &Failure::message(
            r#"{"code":"permission-denied","error":"Access to the chat endpoint is denied. If you believe this is a mistake, please log into console.x.ai and update the permissions"}"#,
        )
        .with_status(403),
    );
    assert_eq!(d.category, Permission, "{d:?}");
    assert_read([("Please log in to continue.", Auth, false)]);
}

#[test]
fn an_error_the_program_could_not_read_names_no_cause() {
    // Reading a field of an error object it did not get: the cause was lost
    // before anyone could name it. Reading a part of an answer is a broken
    // answer, and `choices[0].message` of an empty list reads 'message'.
    let rows: Vec<(String, ErrorCategory, bool)> = ["error", "status", "body", "code"]
        .into_iter()
        .map(|field| (field, Unknown, false))
        .chain(
            ["choices", "0", "content", "message"]
                .into_iter()
                .map(|field| (field, MalformedResponse, true)),
        )
        .map(|(field, category, retryable)| {
            (
                format!("TypeError: Cannot read properties of undefined (reading '{field}')"),
                category,
                retryable,
            )
        })
        .collect();
    assert_read(rows.iter().map(|(t, c, r)| (t.as_str(), *c, *r)));
    // Lua's words for the same slips (LuaJIT's, then Lua 5.4's).
    assert_read([
        (
            "plugin/api.lua:42: attempt to index field 'error' (a nil value)",
            Unknown,
            false,
        ),
        (
            "attempt to index a nil value (field 'status')",
            Unknown,
            false,
        ),
        (
            "plugin/api.lua:42: attempt to index field 'choices' (a nil value)",
            MalformedResponse,
            true,
        ),
    ]);
    let engine = DiagnosisEngine::new();
    let lost = engine.diagnose(&Failure::message(
        "TypeError: Cannot read properties of undefined (reading 'error')",
    ));
    assert!(
        lost.root_cause.contains("was lost") && lost.suggestions[0].command.starts_with("Log the"),
        "{lost:?}"
    );
    // The same words in an error object a server sent (quoted with its
    // request id, or as the body of its 200): the server's own failure. A
    // program's own error line carries no request id.
    let object =
        r#"{"request_id":"833f","error":"Cannot read properties of undefined (reading 'status')"}"#;
    for d in [
        engine.diagnose(&Failure::message(object)),
        engine.diagnose(&Failure::http(200, object)),
    ] {
        assert_eq!((d.category, d.retryable), (ServerError, true), "{d:?}");
    }
    let own = engine.diagnose(&Failure::message(
        r#"{"type":"error","message":"TypeError: Cannot read properties of undefined (reading 'status')"}"#,
    ));
    assert_eq!(own.category, Unknown, "{own:?}");
}

#[test]
fn a_url_no_request_can_be_built_from_is_the_targets_setup() {
    // In this program's words, the base URL is wrong: every request to the
    // target fails the same way. In a server's body, it is a URL the
    // request carried.
    let engine = DiagnosisEngine::new();
    for text in [
        "Invalid URL '/chat/completions': No scheme supplied. Perhaps you meant https:///chat/completions?",
        "TypeError [ERR_INVALID_URL]: Invalid URL",
        r#""detail": "Not Found""#,
    ] {
        let d = engine.diagnose(&Failure::message(text));
        assert_eq!(
            (d.category, d.about_target),
            (InvalidRequest, true),
            "{text}"
        );
    }
    let d = engine.diagnose(&Failure::http(
        400,
        r#"{"error":"TypeError [ERR_INVALID_URL]: Invalid URL"}"#,
    ));
    assert_eq!(
        (d.category, d.about_target),
        (InvalidRequest, false),
        "{d:?}"
    );
}

#[test]
fn under_a_status_new_words_yield_to_it() {
    let engine = DiagnosisEngine::new();
    for (status, text, want) in [
        // A server's own hop behind it.
        (
            500,
            r#"{"error":"Cannot connect to database"}"#,
            ServerError,
        ),
        (503, "Redis connection lost", Overloaded),
        // A console to log into, refused with a 403.
        (
            403,
            "Access denied. Please log in to the console and check your plan.",
            Permission,
        ),
    ] {
        let d = engine.diagnose(&Failure::http(status, text));
        assert_eq!(d.category, want, "{status} {text}");
    }
    // Too many requests to an API is a rate limit, not a key restricted
    // from it; a key said to be required beside a limit is the limit.
    let d = engine.diagnose(&Failure::message(
        "Too many requests to this API, please slow down",
    ));
    assert_eq!(d.category, RateLimit, "{d:?}");
    for (status, text, want) in [
        (
            429,
            "You have exceeded the rate limit for requests to this API",
            RateLimit,
        ),
        (
            503,
            "Requests to this API are temporarily unavailable",
            Overloaded,
        ),
        (
            429,
            "Rate limit exceeded for unauthenticated requests; an API key is required for higher limits",
            RateLimit,
        ),
        (
            429,
            "You've hit the limit for anonymous use. You need to use an API key for higher limits.",
            RateLimit,
        ),
        // "The selected model" alone names no model that is missing.
        (
            401,
            "There was an issue with the selected model provider. Check your API key.",
            Auth,
        ),
        // A request refused as malformed, whatever status a relay put on it.
        (
            500,
            r#"API Error (500 {"error":"CodeWhisperer Error: {\"message\":\"Improperly formed request.\",\"reason\":null}"})"#,
            InvalidRequest,
        ),
        // Refused where the caller is (RFC 7725).
        (451, "Unavailable For Legal Reasons", Permission),
        // Zhipu's prefix alone is no reading of a model that is missing.
        (404, "当前模型不支持", ModelNotFound),
    ] {
        let d = engine.diagnose(&Failure::http(status, text));
        assert_eq!(d.category, want, "{status} {text}");
    }
    // A typed object without the field is the calling code's slip, not
    // an answer's missing part; an endpoint retired is not a model.
    for text in [
        "AttributeError: 'ChatCompletion' object has no attribute 'usage'",
        "The /v1/engines endpoint is no longer available. Please switch to /v1/models.",
    ] {
        let d = engine.diagnose(&Failure::message(text));
        assert!(
            !matches!(d.category, MalformedResponse | ModelNotFound),
            "{text}: {d:?}"
        );
    }
    // A status printed in Chinese ("状态码", status code) decides as one
    // printed in English does, over a relay's own type.
    assert_read([
        (
            r#"{"error":{"message":"CodeWhisperer API 错误: 状态码: 400","type":"server_error"},"type":"error"}"#,
            InvalidRequest,
            false,
        ),
        // A full-width colon, "为" (is) after it, "HTTP" before it.
        ("API请求失败，状态码：402", QuotaExhausted, false),
        ("请求失败，状态码为 429", RateLimit, true),
        ("上游返回 HTTP状态码: 401", Auth, false),
    ]);
    // A free tier with a limit is not one bound to a product.
    let d = engine.diagnose(&Failure::message(
        "The free tier can only be used for 20 requests per minute",
    ));
    assert_ne!(d.category, Permission, "{d:?}");
}

#[test]
fn a_guardrail_is_a_word_not_a_package() {
    // NVIDIA's `nemoguardrails` wraps the call it guards: its name says
    // nothing of a refusal, and the 404 it reports decides.
    let engine = DiagnosisEngine::new();
    let d = engine.diagnose(&Failure::message(
        "nemoguardrails.actions.llm.utils.LLMCallException: LLM Call Exception: Ollama call failed with status code 404.",
    ));
    assert_eq!((d.category, d.status), (InvalidRequest, Some(404)), "{d:?}");
    assert_read([
        (
            "Request blocked by guardrails: PII detected",
            ContentFilter,
            false,
        ),
        (
            "Guardrail violation: the prompt matched a denied topic",
            ContentFilter,
            false,
        ),
        (
            r#"{"stopReason":"guardrail_intervened","output":{"message":{"content":[]}}}"#,
            ContentFilter,
            false,
        ),
    ]);
}

#[test]
fn openai_objects_that_failed_name_their_cause_in_last_error() {
    // An Assistants run or a vector store file that failed is a 200 whose
    // `last_error` says why; `null` there is a run still going.
    let engine = DiagnosisEngine::new();
    for (body, want) in [
        (
            r#"{"id":"run_1","object":"thread.run","status":"failed","last_error":{"code":"rate_limit_exceeded","message":"Request too large for gpt-4o in organization org-1 on tokens per min (TPM): Limit 30000, Requested 43052."}}"#,
            RateLimit,
        ),
        (
            r#"{"id":"run_1","object":"thread.run","status":"failed","last_error":{"code":"server_error","message":"Sorry, something went wrong."}}"#,
            ServerError,
        ),
        (
            r#"{"id":"file-1","object":"vector_store.file","status":"failed","last_error":{"code":"unsupported_file","message":"The file type is not supported."}}"#,
            InvalidRequest,
        ),
    ] {
        let d = engine.diagnose(&Failure::http(200, body));
        assert_eq!(d.category, want, "{body}");
    }
    let going = engine.diagnose(&Failure::http(
        200,
        r#"{"id":"run_1","object":"thread.run","status":"in_progress","last_error":null}"#,
    ));
    assert_eq!(
        (going.category, &*going.sub_category),
        (Unknown, "success_response"),
        "{going:?}"
    );
}

#[test]
fn under_a_status_the_status_decides() {
    // One text for each of the validators' low-priority words: they name a
    // refused request only where no status speaks.
    let engine = DiagnosisEngine::new();
    for text in [
        "tools.2.input_schema: Field required",
        "Unknown parameter: 'top_k'.",
        "Unrecognized key(s) in object: 'seed'",
        "image_url: missing required field 'url'",
        "Display name may only contain letters",
        "Request validation failed",
        "Prompt failed validation: no messages provided",
        "Tool call id has to be defined",
        "ensure this value is less than or equal to 2",
        "extra fields not permitted",
        "value is not a valid integer",
        "data/messages must have required property 'content'",
        "Additional properties are not allowed ('top_k' was unexpected)",
        "'high' is not one of ['low', 'auto']",
        "None is not of type 'string'",
        "Key: 'ChatRequest.Model' Error:Field validation for 'Model' failed on the 'required' tag",
        "\"top_k\" is not allowed",
        "model should not be empty",
        "property top_k should not exist",
        "unknown field `top_k`",
        "Specified argument was out of the range of valid values.",
        "Invalid Format",
    ] {
        for (status, want) in [(503, Overloaded), (429, RateLimit), (400, InvalidRequest)] {
            let d = engine.diagnose(&Failure::message(text).with_status(status));
            assert_eq!(d.category, want, "{status}: {text}");
        }
    }
    // jsonschema's "is too short" is read after the value it quotes; prose
    // that calls something short, under a server's status, is the server's.
    for text in [
        "upstream response is too short",
        "read buffer is too short to hold the frame",
    ] {
        let d = engine.diagnose(&Failure::message(text).with_status(502));
        assert_eq!(d.category, ServerError, "{text}");
    }
}
