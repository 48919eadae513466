-- The catalog: one row per finished file, written by the ingest in the step that writes the
-- file's sidecar, and rebuilt from the sidecars by `data_manager_fleet reindex` (a lost
-- database is not lost data). Both go through catalog_record_file, so a sidecar becomes a
-- row one way only. robot and bag are key segments (escaped as keys are: exact bytes).
CREATE TABLE catalog_files (
    key text PRIMARY KEY,
    robot text NOT NULL,
    bag text,                      -- bag and clip files: the bag directory's segment
    kind text NOT NULL,            -- bag | clip | file
    size bigint NOT NULL,
    digest text NOT NULL,
    start_ns bigint,
    end_ns bigint,
    message_count bigint,
    topics text[] NOT NULL DEFAULT '{}',
    types text[] NOT NULL DEFAULT '{}',
    topic_counts jsonb NOT NULL DEFAULT '{}',   -- topic -> messages in this file
    tags text[] NOT NULL DEFAULT '{}',
    methods text[] NOT NULL DEFAULT '{}',
    clip_reasons text[] NOT NULL DEFAULT '{}',
    custom_data jsonb NOT NULL DEFAULT '{}',
    finished timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX catalog_files_robot ON catalog_files (robot, start_ns);
-- one robot's window: its files that end after the window starts, in order
CREATE INDEX catalog_files_robot_end ON catalog_files (robot, end_ns);
CREATE INDEX catalog_files_window ON catalog_files
    USING gist (int8range(start_ns, end_ns, '[]'));
CREATE INDEX catalog_files_topics ON catalog_files USING gin (topics);
CREATE INDEX catalog_files_types ON catalog_files USING gin (types);
CREATE INDEX catalog_files_tags ON catalog_files USING gin (tags);
CREATE INDEX catalog_files_reasons ON catalog_files USING gin (clip_reasons);
CREATE INDEX catalog_files_custom ON catalog_files USING gin (custom_data jsonb_path_ops);
CREATE INDEX catalog_files_bag ON catalog_files (robot, bag);

-- What a robot said a bag holds once it closed it (its metadata.yaml), and the files its
-- disk policy deleted before they were uploaded: `data_manager_fleet bags` compares these
-- with the files that arrived.
CREATE TABLE catalog_bags (
    robot text NOT NULL,
    bag text NOT NULL,
    expected_files text[],          -- NULL until metadata.yaml arrives
    expected_counts jsonb,          -- topic -> messages, from metadata.yaml
    dropped_files text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (robot, bag)
);

-- split a comma-separated metadata value; empty gives no element
CREATE FUNCTION catalog_list(value text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(array_remove(string_to_array(value, ','), ''), '{}')
$$;

-- sidecar: {key, size, digest, metadata} as the ingest writes it
CREATE FUNCTION catalog_record_file(sidecar jsonb) RETURNS void LANGUAGE sql AS $$
    INSERT INTO catalog_files AS f (key, robot, bag, kind, size, digest, start_ns, end_ns,
        message_count, topics, types, topic_counts, tags, methods, clip_reasons, custom_data)
    SELECT sidecar->>'key',
           split_part(sidecar->>'key', '/', 1),
           CASE WHEN m->>'kind' IN ('bag', 'clip') THEN split_part(sidecar->>'key', '/', 2) END,
           coalesce(m->>'kind', 'file'),
           (sidecar->>'size')::bigint,
           sidecar->>'digest',
           (nullif(m->>'start_ns', ''))::bigint,
           (nullif(m->>'end_ns', ''))::bigint,
           (nullif(m->>'message_count', ''))::bigint,
           catalog_list(m->>'topics'),
           coalesce((SELECT array_agg(DISTINCT t) FROM jsonb_each_text(
               coalesce(nullif(m->>'topic_types', '')::jsonb, '{}')) AS x(k, t)), '{}'),
           coalesce(nullif(m->>'topic_counts', '')::jsonb, '{}'),
           catalog_list(m->>'tags'),
           catalog_list(m->>'methods'),
           coalesce(array_remove(string_to_array(m->>'clip_reasons', '; '), ''), '{}'),
           coalesce(nullif(m->>'custom_data', '')::jsonb, '{}')
    FROM (SELECT sidecar->'metadata' AS m) AS meta
    ON CONFLICT (key) DO UPDATE SET
        robot = EXCLUDED.robot, bag = EXCLUDED.bag, kind = EXCLUDED.kind,
        size = EXCLUDED.size, digest = EXCLUDED.digest, start_ns = EXCLUDED.start_ns,
        end_ns = EXCLUDED.end_ns, message_count = EXCLUDED.message_count,
        topics = EXCLUDED.topics, types = EXCLUDED.types, topic_counts = EXCLUDED.topic_counts,
        tags = EXCLUDED.tags, methods = EXCLUDED.methods,
        clip_reasons = EXCLUDED.clip_reasons, custom_data = EXCLUDED.custom_data,
        finished = now()
$$;

-- info: rosbag2's metadata.yaml as JSON (its rosbag2_bagfile_information)
CREATE FUNCTION catalog_record_bag(robot text, bag text, info jsonb) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO catalog_bags (robot, bag, expected_files, expected_counts)
    VALUES (robot, bag,
            coalesce(ARRAY(SELECT jsonb_array_elements_text(info->'relative_file_paths')),
                     '{}'),
            coalesce((SELECT jsonb_object_agg(t->'topic_metadata'->>'name', t->'message_count')
                      FROM jsonb_array_elements(info->'topics_with_message_count') AS t),
                     '{}'))
    ON CONFLICT ON CONSTRAINT catalog_bags_pkey DO UPDATE SET
        expected_files = EXCLUDED.expected_files, expected_counts = EXCLUDED.expected_counts
$$;

-- a file of a bag that the robot's disk policy deleted before it was uploaded
CREATE FUNCTION catalog_record_dropped(robot text, bag text, files text[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO catalog_bags (robot, bag, dropped_files) VALUES (robot, bag, files)
    ON CONFLICT ON CONSTRAINT catalog_bags_pkey DO UPDATE SET dropped_files = ARRAY(
        SELECT DISTINCT unnest(catalog_bags.dropped_files || EXCLUDED.dropped_files))
$$;
