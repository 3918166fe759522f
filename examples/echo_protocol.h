/*
 * echo_protocol.h - the messages of the echo service (rpc_server.c and
 * rpc_client.c). The client sends ECHO_REQUEST_ID; the reply id is the
 * request id + 100, as MIG does it.
 */
#ifndef ECHO_PROTOCOL_H
#define ECHO_PROTOCOL_H

#include <mach/mach.h>

#include <stdint.h>

#define DEFAULT_SERVICE "org.machd.example.echo"

#define ECHO_REQUEST_ID 4200
#define ECHO_REPLY_ID (ECHO_REQUEST_ID + 100)
#define ECHO_TEXT_MAX 64

typedef struct {
	mach_msg_header_t header;
	int32_t number;
	char text[ECHO_TEXT_MAX];
} echo_request_t;

typedef struct {
	mach_msg_header_t header;
	int32_t number;          /* the request's number times two */
	uint32_t served;         /* how many requests the server has answered */
	char text[ECHO_TEXT_MAX]; /* the request's text in upper case */
} echo_reply_t;

#endif /* ECHO_PROTOCOL_H */
