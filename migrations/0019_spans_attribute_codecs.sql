-- The attribute columns of `spans` compress at ZSTD level 3 instead of 1.
-- Placeholders: {database} {on_cluster}; see core/store/migrations.ts.
--
-- Attribute values are the bulk of a span before compression (356 of ~540 bytes a span on
-- bench:ingest's spans), and they repeat: the same keys and mostly the same values, span after
-- span. At level 1, ZSTD's small match tables missed most of those repeats. On a controlled load of
-- 1.5M such spans with random ids (OPTIMIZE FINAL), `attributes` took 1.69 bytes a span at level
-- 3 against 8.47 at level 1; `spans` took 36.4 bytes a span against 43.2. The merges' CPU did not
-- go up (0.75 and 0.97 CPU-s per 100k spans against 0.98 and 1.06, alternating): a better match
-- leaves fewer literals to encode. Decompression runs at the same speed at either level.
--
-- Only the codec changes: existing parts stay as they are and take the new codec when they merge.
-- The ids stay at level 1; they are random, and no level compresses them further.
ALTER TABLE {database}.spans {on_cluster}
    MODIFY COLUMN attributes CODEC(ZSTD(3)),
    MODIFY COLUMN resource_attributes CODEC(ZSTD(3)),
    MODIFY COLUMN `events.attributes` CODEC(ZSTD(3)),
    MODIFY COLUMN `links.attributes` CODEC(ZSTD(3));
