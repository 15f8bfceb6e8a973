/* Open-loop HTTP/1.1 load generator for benchmarks/bench_visible.py (wrk2 is not packaged).
 *
 * Request i is sent at START + offset_i whether or not earlier ones were answered, and its
 * latency counts from that instant (no coordinated omission). Each target has a pool of
 * keep-alive connections, one request at a time on each; when all are busy a new one is
 * opened, up to a cap, beyond which requests queue (their wait counts as latency).
 *
 * Input (the Python side writes it; the requests are complete HTTP/1.1 requests):
 *     targets N\n  then N lines "host port\n"
 *     requests M\n then M times "target offset_ns length\n" and `length` bytes
 * Output on stdout, one record per request, in answer order, flushed as answers come:
 *     "index status scheduled_ns sent_ns answered_ns length\n" `length` bytes of body "\n"
 * (CLOCK_MONOTONIC, as Python's time.monotonic_ns; status 0 = failure, the body says why),
 * then "cpu user_s system_s\n" last.
 *
 * Usage: openloop REQUEST_FILE [-s START_NS] [-c MAX_CONNS_PER_TARGET] [-t TIMEOUT_S]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum state { IDLE, CONNECTING, WRITING, READING };

struct request {
	int target;
	int64_t scheduled, sent;
	const char *bytes;
	size_t length;
	int next;    /* next in its target's queue, -1 at the end */
	int retried; /* sent again once after a kept-alive connection closed under it */
};

struct conn {
	int fd, target, request; /* request in flight, -1 when idle */
	enum state state;
	int served; /* answers read on it: a closed reused connection is retried once */
	size_t written;
	char *buf; /* the answer so far */
	size_t len, cap;
};

struct target {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int head, tail, queued; /* due requests waiting for a connection */
	int open, connecting;
};

static struct request *requests;
static struct target *targets;
static struct conn *conns; /* max_conns slots per target */
static int ntargets, nrequests, max_conns = 64, epfd, outstanding;
static int64_t timeout_ns = 60000000000LL;

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void record(int i, int status, const char *body, size_t length)
{
	struct request *r = &requests[i];
	printf("%d %d %lld %lld %lld %zu\n", i, status, (long long)r->scheduled,
	       (long long)r->sent, (long long)now_ns(), length);
	fwrite(body, 1, length, stdout);
	putchar('\n');
	outstanding--;
}

static void watch(struct conn *c, int op, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = c};
	if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
}

static void refill(int t);

static void close_conn(struct conn *c)
{
	close(c->fd); /* also leaves the epoll set */
	c->fd = -1;
	c->request = -1;
	targets[c->target].open--;
	if (c->state == CONNECTING)
		targets[c->target].connecting--;
	refill(c->target);
}

static void enqueue(int i, int first);

static void fail(struct conn *c, const char *why)
{
	/* A kept-alive connection the server closed as the request went out (its idle timeout):
	 * nothing was answered, so the request goes again, once, first in line. */
	if (c->request >= 0 && c->served > 0 && c->len == 0 && !requests[c->request].retried) {
		requests[c->request].retried = 1;
		int i = c->request;
		c->request = -1;
		close_conn(c);
		enqueue(i, 1);
		return;
	}
	if (c->request >= 0)
		record(c->request, 0, why, strlen(why));
	c->request = -1;
	close_conn(c);
}

static void start_write(struct conn *c, int i)
{
	c->request = i;
	c->written = 0;
	c->len = 0;
	c->state = WRITING;
	requests[i].sent = now_ns();
	watch(c, EPOLL_CTL_MOD, EPOLLOUT);
}

static int dequeue(struct target *t)
{
	int i = t->head;
	t->head = requests[i].next;
	if (t->head < 0)
		t->tail = -1;
	t->queued--;
	return i;
}

/* Open connections while more requests wait than connections are being opened. */
static void refill(int t)
{
	struct target *tg = &targets[t];
	for (int k = t * max_conns; k < (t + 1) * max_conns; k++) {
		if (tg->queued <= tg->connecting || tg->open >= max_conns)
			return;
		if (conns[k].fd >= 0)
			continue;
		struct conn *c = &conns[k];
		int fd = socket(tg->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("socket: %s", strerror(errno));
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		*c = (struct conn){.fd = fd, .target = t, .request = -1, .state = CONNECTING,
				   .served = 0, .buf = c->buf, .cap = c->cap};
		tg->open++;
		tg->connecting++;
		/* an immediate refusal shows as EPOLLERR/EPOLLHUP, handled as a late one */
		connect(fd, (struct sockaddr *)&tg->addr, tg->addrlen);
		watch(c, EPOLL_CTL_ADD, EPOLLOUT);
	}
}

/* A request is due: an idle connection takes it, else it waits in its target's queue for a
 * connection freed or newly opened. */
static void dispatch(int i)
{
	int t = requests[i].target;
	for (int k = t * max_conns; k < (t + 1) * max_conns; k++)
		if (conns[k].fd >= 0 && conns[k].state == IDLE) {
			start_write(&conns[k], i);
			return;
		}
	enqueue(i, 0);
}

static void enqueue(int i, int first)
{
	struct target *t = &targets[requests[i].target];
	requests[i].next = -1;
	if (first && t->head >= 0)
		requests[i].next = t->head;
	else if (t->tail >= 0)
		requests[t->tail].next = i;
	if (first || t->head < 0)
		t->head = i;
	if (requests[i].next < 0)
		t->tail = i;
	t->queued++;
	refill(requests[i].target);
}

/* The connection is free: it takes the first queued request of its target, or waits idle
 * (watched for the server closing it, so a closed keep-alive connection is never reused). */
static void next_request(struct conn *c)
{
	struct target *t = &targets[c->target];
	if (t->head >= 0) {
		start_write(c, dequeue(t));
		return;
	}
	c->request = -1;
	c->state = IDLE;
	watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
}

static const char *header(const char *head, size_t headlen, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = memchr(head, '\n', headlen); p && p + 1 + n < head + headlen;
	     p = memchr(p + 1, '\n', (size_t)(head + headlen - p - 1))) {
		if (strncasecmp(p + 1, name, n) == 0 && p[1 + n] == ':') {
			const char *v = p + 2 + n;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

/* Decode a chunked body in place; its length, or -1 while incomplete (-2 when malformed). */
static long dechunk(char *body, size_t avail)
{
	size_t in = 0, out = 0;
	for (;;) {
		char *eol = memmem(body + in, avail - in, "\r\n", 2);
		if (eol == NULL)
			return -1;
		char *end;
		unsigned long size = strtoul(body + in, &end, 16);
		if (end == body + in)
			return -2;
		in = (size_t)(eol - body) + 2;
		if (size == 0) { /* trailers end with an empty line */
			for (;;) {
				eol = memmem(body + in, avail - in, "\r\n", 2);
				if (eol == NULL)
					return -1;
				if (eol == body + in)
					return (long)out;
				in = (size_t)(eol - body) + 2;
			}
		}
		if (avail - in < size + 2)
			return -1;
		memmove(body + out, body + in, size);
		out += size;
		in += size + 2;
	}
}

/* Is the answer in the buffer complete? Record it then (eof: the server closed). */
static int answered(struct conn *c, int eof)
{
	char *sep = c->len ? memmem(c->buf, c->len, "\r\n\r\n", 4) : NULL;
	if (sep == NULL)
		return 0;
	size_t headlen = (size_t)(sep - c->buf) + 2, start = headlen + 2;
	int status = 0;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &status) != 1 || status < 100) {
		fail(c, "malformed status line");
		return 1;
	}
	const char *cl = header(c->buf, headlen, "content-length");
	const char *te = header(c->buf, headlen, "transfer-encoding");
	const char *co = header(c->buf, headlen, "connection");
	int close_after = co && strncasecmp(co, "close", 5) == 0;
	long length;
	if (status == 204 || status == 304)
		length = 0;
	else if (te && strncasecmp(te, "chunked", 7) == 0) {
		/* a copy: dechunk rewrites, and more bytes may still come */
		char *copy = malloc(c->len - start + 1);
		memcpy(copy, c->buf + start, c->len - start);
		length = dechunk(copy, c->len - start);
		if (length >= 0)
			memcpy(c->buf + start, copy, (size_t)length);
		free(copy);
		if (length == -2) {
			fail(c, "malformed chunked body");
			return 1;
		}
	} else if (cl)
		length = c->len - start >= (size_t)atol(cl) ? atol(cl) : -1;
	else if (eof)
		length = (long)(c->len - start), close_after = 1;
	else
		length = -1;
	if (length < 0)
		return 0;
	record(c->request, status, c->buf + start, (size_t)length);
	c->request = -1;
	c->served++;
	if (close_after || eof)
		close_conn(c);
	else
		next_request(c);
	return 1;
}

static void on_event(struct conn *c, uint32_t events)
{
	if (c->state == IDLE) { /* the server closed a keep-alive connection (or sent junk) */
		close_conn(c);
		return;
	}
	if (c->state == CONNECTING) {
		int err = 0;
		socklen_t len = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
		struct target *t = &targets[c->target];
		if (err || (events & (EPOLLERR | EPOLLHUP))) {
			/* the first queued request pays for the refused connection: never a hang */
			if (t->head >= 0) {
				c->request = dequeue(t);
				requests[c->request].sent = now_ns();
			}
			fail(c, err ? strerror(err) : "connect failed");
			return;
		}
		t->connecting--;
		c->state = IDLE;
		next_request(c);
		return;
	}
	if (c->state == WRITING) {
		struct request *r = &requests[c->request];
		ssize_t n = send(c->fd, r->bytes + c->written, r->length - c->written, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			return fail(c, strerror(errno));
		c->written += (size_t)n;
		if (c->written == r->length) {
			c->state = READING;
			watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLRDHUP);
		}
		return;
	}
	for (;;) { /* READING: drain what the socket holds */
		if (c->cap - c->len < 4096) {
			c->cap = c->cap ? c->cap * 2 : 16384;
			c->buf = realloc(c->buf, c->cap);
			if (c->buf == NULL)
				die("out of memory");
		}
		ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n < 0)
			return fail(c, strerror(errno));
		if (n == 0) {
			if (!answered(c, 1))
				fail(c, "connection closed before the answer");
			return;
		}
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		if (answered(c, 0))
			return;
	}
}

/* Late answers fail, and so do requests that waited their whole timeout for a connection. */
static void expire(int64_t now)
{
	for (int t = 0; t < ntargets; t++)
		while (targets[t].head >= 0 && now - requests[targets[t].head].scheduled > timeout_ns)
			record(dequeue(&targets[t]), 0, "timeout", 7);
	for (int k = 0; k < ntargets * max_conns; k++) {
		struct conn *c = &conns[k];
		if (c->fd >= 0 && c->request >= 0 && now - requests[c->request].scheduled > timeout_ns) {
			requests[c->request].retried = 1; /* a late answer is a failure, not a retry */
			fail(c, "timeout");
		}
	}
}

static char *load(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		die("%s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *text = malloc((size_t)n + 1);
	if (text == NULL || fread(text, 1, (size_t)n, f) != (size_t)n)
		die("%s: cannot read", path);
	text[n] = '\0';
	fclose(f);
	*size = (size_t)n;
	return text;
}

static void parse(char *text, size_t size, int64_t start)
{
	char *p = text, host[256], port[16];
	int used;
	if (sscanf(p, "targets %d\n%n", &ntargets, &used) != 1 || ntargets < 1)
		die("expected 'targets N'");
	p += used;
	targets = calloc((size_t)ntargets, sizeof *targets);
	for (int t = 0; t < ntargets; t++) {
		if (sscanf(p, "%255s %15s\n%n", host, port, &used) != 2)
			die("expected 'host port' for target %d", t);
		p += used;
		struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *found;
		int err = getaddrinfo(host, port, &hints, &found);
		if (err)
			die("%s:%s: %s", host, port, gai_strerror(err));
		memcpy(&targets[t].addr, found->ai_addr, found->ai_addrlen);
		targets[t].addrlen = found->ai_addrlen;
		targets[t].head = targets[t].tail = -1;
		freeaddrinfo(found);
	}
	if (sscanf(p, "requests %d\n%n", &nrequests, &used) != 1 || nrequests < 0)
		die("expected 'requests M'");
	p += used;
	requests = calloc((size_t)nrequests + 1, sizeof *requests);
	for (int i = 0; i < nrequests; i++) {
		struct request *r = &requests[i];
		/* strtol and not sscanf: glibc's sscanf measures the rest of the text first (strlen),
		 * once per request, so reading 12,000 requests (9 MB) took 2 s, past the run's start. */
		char *end;
		long target = strtol(p, &end, 10);
		int ok = end != p && *end == ' ';
		p = end;
		long long offset = ok ? strtoll(p, &end, 10) : 0;
		ok = ok && end != p && *end == ' ';
		p = end;
		unsigned long long length = ok ? strtoull(p, &end, 10) : 0;
		ok = ok && end != p && *end == '\n';
		p = end + ok;
		if (!ok || target < 0 || target >= ntargets || length > size - (size_t)(p - text))
			die("request %d: bad header", i);
		r->target = (int)target;
		r->length = (size_t)length;
		r->scheduled = start + offset;
		r->bytes = p;
		p += r->length;
		if (i > 0 && r->scheduled < requests[i - 1].scheduled)
			die("request %d: the schedule must not go back in time", i);
	}
}

int main(int argc, char **argv)
{
	int64_t start = 0;
	int opt;
	while ((opt = getopt(argc, argv, "s:c:t:")) != -1) {
		if (opt == 's')
			start = atoll(optarg);
		else if (opt == 'c')
			max_conns = atoi(optarg);
		else if (opt == 't')
			timeout_ns = (int64_t)(atof(optarg) * 1e9);
		else
			die("usage: %s REQUEST_FILE [-s START_NS] [-c MAX_CONNS] [-t TIMEOUT_S]", argv[0]);
	}
	if (optind != argc - 1 || max_conns < 1)
		die("usage: %s REQUEST_FILE [-s START_NS] [-c MAX_CONNS] [-t TIMEOUT_S]", argv[0]);
	if (start == 0)
		start = now_ns() + 100000000LL;
	signal(SIGPIPE, SIG_IGN);
	size_t size;
	char *text = load(argv[optind], &size);
	parse(text, size, start);
	conns = calloc((size_t)(ntargets * max_conns), sizeof *conns);
	for (int k = 0; k < ntargets * max_conns; k++)
		conns[k].fd = -1;
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0 || conns == NULL)
		die("setup: %s", strerror(errno));
	outstanding = nrequests;
	struct epoll_event events[256];
	int next = 0;
	while (outstanding > 0) {
		int64_t now = now_ns();
		while (next < nrequests && requests[next].scheduled <= now)
			dispatch(next++);
		/* wake for the next send, and at least every 100 ms to expire late answers */
		int64_t wait = next < nrequests ? requests[next].scheduled - now : 100000000LL;
		wait = wait > 100000000LL ? 100000000LL : wait;
		int n = epoll_wait(epfd, events, 256, (int)((wait + 999999) / 1000000));
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int e = 0; e < n; e++)
			on_event(events[e].data.ptr, events[e].events);
		expire(now_ns());
		fflush(stdout);
	}
	struct rusage usage;
	getrusage(RUSAGE_SELF, &usage);
	printf("cpu %.3f %.3f\n", usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6,
	       usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6);
	return fflush(stdout) == 0 ? 0 : 1;
}
