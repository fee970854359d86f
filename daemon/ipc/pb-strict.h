/* Unpacking API frames without silent truncation: protobuf-c hands string
 * fields over as C strings, so a name sent as "feed\0x" would reach the
 * daemon as "feed". The strict unpack says when a string holds a NUL. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

/* NULL when data does not decode. *nul_in names the first string field
 * (at any depth) that holds a NUL byte, which the caller refuses, or is
 * NULL. Free the message with wsb_pb_free_strict. */
ProtobufCMessage *wsb_pb_unpack_strict (const ProtobufCMessageDescriptor *desc, const guint8 *data,
                                        gsize len, const char **nul_in);
void wsb_pb_free_strict (ProtobufCMessage *msg);
