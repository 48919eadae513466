-- Where each file's NavSatFix topics say the robot went: the robot's decimated track (upload
-- metadata `track`, {topic: [[latitude, longitude], ...]}), which the fleet's pages draw.
-- catalog_record_file keeps its fields (now catalog_record_file_fields) and adds the track,
-- so the ingest and `reindex` still write a row one way only. A track that is not a JSON
-- object (a robot may lie) is stored as none, never refused: the file is the data.
ALTER TABLE catalog_files ADD COLUMN track jsonb NOT NULL DEFAULT '{}';

CREATE FUNCTION catalog_json_object(value text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    IF jsonb_typeof(value::jsonb) = 'object' THEN
        RETURN value::jsonb;
    END IF;
    RETURN '{}';
EXCEPTION WHEN others THEN
    RETURN '{}';
END
$$;

ALTER FUNCTION catalog_record_file(jsonb) RENAME TO catalog_record_file_fields;

CREATE FUNCTION catalog_record_file(sidecar jsonb) RETURNS void LANGUAGE sql AS $$
    SELECT catalog_record_file_fields(sidecar);
    UPDATE catalog_files
    SET track = coalesce(catalog_json_object(sidecar->'metadata'->>'track'), '{}')
    WHERE key = sidecar->>'key';
$$;
