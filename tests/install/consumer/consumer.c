/*
 * A consumer of the installed library: built with pkg-config or with the
 * CMake package, it creates and destroys a context and, when the headers are
 * lws-hardened's, prints lws_hardened_version().
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <string.h>

int
main(void)
{
	struct lws_context_creation_info info;
	struct lws_context *cx;

	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	lws_set_log_level(LLL_ERR, NULL);
	cx = lws_create_context(&info);
	if (!cx) {
		fprintf(stderr, "consumer: lws_create_context failed\n");
		return 1;
	}
	lws_context_destroy(cx);
#if defined(LWS_HARDENED)
	printf("consumer: %s\n", lws_hardened_version());
#else
	printf("consumer: libwebsockets %s\n", lws_get_library_version());
#endif
	return 0;
}
