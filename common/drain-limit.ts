// How much of a request body a process still reads and drops after answering without it (an
// error given before the body was read: a refused manifest, an unauthenticated upload, storage's
// early 404). Closing a socket with unread bytes resets it, and a client (or the gateway's proxy)
// still sending its body then sees ECONNRESET or EPIPE, possibly before it reads the answer;
// reading the rest first keeps the answer readable and the connection usable. Past this much, the
// body is not worth reading: the connection is closed. One fact for both processes.
export const MAX_DRAINED_BYTES = 64 * 1024 * 1024;
