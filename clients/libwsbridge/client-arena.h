/* A bump allocator for protobuf-c: the hot path (event frames) unpacks into
 * it and rewinds it after the callback, so a message costs no malloc/free.
 * Pure: memory only, no I/O. */
#pragma once

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>

/* Chunk size; a larger allocation gets a chunk of its own. */
#define WSBC_ARENA_CHUNK (64 * 1024)

typedef struct WsbcArenaChunk
{
  struct WsbcArenaChunk *prev;
  size_t size;
  size_t used;
  max_align_t data[];
} WsbcArenaChunk;

typedef struct
{
  WsbcArenaChunk *head;
} WsbcArena;

typedef struct
{
  WsbcArenaChunk *chunk;
  size_t used;
} WsbcArenaMark;

/* Makes allocator allocate from arena (aligned for any type; its free does
 * nothing: memory goes back in wsbc_arena_release and wsbc_arena_clear). */
void wsbc_arena_allocator_init (WsbcArena *arena, ProtobufCAllocator *allocator);

/* Remembers the arena's fill, pushing its first chunk if it has none; false
 * when out of memory. The first chunk then stays until wsbc_arena_clear, so a
 * stream of small events allocates nothing. */
bool wsbc_arena_mark (WsbcArena *arena, WsbcArenaMark *mark);

/* Gives back everything allocated since mark (chunks pushed since are freed). */
void wsbc_arena_release (WsbcArena *arena, const WsbcArenaMark *mark);

/* Frees every chunk. */
void wsbc_arena_clear (WsbcArena *arena);
