/* The protobuf form of the hub's view of a session: wsbridge.v1.SessionStatus
 * and the encoded StateChange event. */
#pragma once

#include "hub.h"
#include "wsbridge.pb-c.h"

/* Fills pb with pointers into st (no copies): st must outlive pb's use. */
void wsb_status_to_pb (const WsbSessionStatus *st, Wsbridge__V1__SessionStatus *pb);

/* The encoded wsbridge.v1.StateChange for st. */
GBytes *wsb_status_encode_state_change (const WsbSessionStatus *st);
