-- fewshot's projects database (fewshot/project/database.py reads this file).
--
-- "-- migration: N" blocks take the schema from version N - 1 to N (PRAGMA user_version); never edit a
-- released one, append a new one. "-- name: X" blocks are the queries the code runs as SQL["X"].
-- No ";" inside comments: a block is split into statements at each ";".

-- migration: 1
CREATE TABLE projects (
    id TEXT PRIMARY KEY,                 -- secrets.token_urlsafe(24): 192 random bits, unguessable
    owner TEXT NOT NULL,                 -- a user name under --auth, a browser's id holder, or "local"
    name TEXT NOT NULL,
    created REAL NOT NULL,
    used REAL NOT NULL,                  -- last opened or changed (most recently used first, expiry)
    active_run INTEGER REFERENCES runs(id) ON DELETE SET NULL,
    active_pinned INTEGER NOT NULL DEFAULT 0,   -- 1: the user picked the active run
    UNIQUE (owner, name)
);
CREATE INDEX projects_by_owner ON projects(owner, used);
CREATE TABLE classes (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE TABLE photos (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    sha1 TEXT NOT NULL,                  -- content hash: the photo's id and its file name
    ext TEXT NOT NULL,
    path TEXT NOT NULL,                  -- relative path it was first added under (CSV / Label Studio)
    label TEXT,                          -- NULL: unlabelled
    split TEXT NOT NULL CHECK (split IN ('train', 'val')),
    hint TEXT,                           -- free-form: a visitor's suggestion, a model's guess
    bytes INTEGER NOT NULL,
    added REAL NOT NULL,
    PRIMARY KEY (project_id, sha1),
    FOREIGN KEY (project_id, label) REFERENCES classes(project_id, name) ON UPDATE CASCADE
);
CREATE INDEX photos_by_path ON photos(project_id, path);
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'stopped', 'failed', 'interrupted')),
    settings TEXT NOT NULL,              -- TrainConfig.to_dict() as JSON
    history TEXT NOT NULL DEFAULT '[]',  -- one object per epoch
    metrics TEXT NOT NULL DEFAULT '{}',
    val_accuracy REAL,
    bundle TEXT,                         -- file name under the project's runs/ folder
    bundle_bytes INTEGER NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    started REAL NOT NULL,
    ended REAL,
    pid INTEGER,                         -- the process training it, to tell a crash from a live run
    pid_start TEXT,
    host TEXT
);
CREATE INDEX runs_by_project ON runs(project_id);
CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    what TEXT NOT NULL
);
CREATE INDEX activity_by_project ON activity(project_id, id);

-- migration: 2
CREATE TABLE demo_links (
    id TEXT PRIMARY KEY,                 -- secrets.token_urlsafe(24): 192 random bits, the link's /m/<id>
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    created REAL NOT NULL,
    revoked REAL,                        -- set: the link answers 404 from then on
    feedback INTEGER NOT NULL DEFAULT 1, -- 1: visitors may send a photo back with the right class
    feedback_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX demo_links_by_project ON demo_links(project_id, created);

-- migration: 3
-- Runs are numbered 1, 2, 3... within their project, in the order they were started (what a person sees
-- as "run 2"). runs_made counts the runs a project has ever had, so a deleted run's number is never given
-- again. Existing runs are numbered in the order their rows were made (start_run makes a run's row when it
-- starts).
ALTER TABLE projects ADD COLUMN runs_made INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN number INTEGER NOT NULL DEFAULT 0;
UPDATE runs SET number = (SELECT COUNT(*) FROM runs r WHERE r.project_id = runs.project_id AND r.id <= runs.id);
UPDATE projects SET runs_made = (SELECT COALESCE(MAX(number), 0) FROM runs WHERE runs.project_id = projects.id);
CREATE UNIQUE INDEX runs_by_number ON runs(project_id, number);

-- migration: 4
-- The Label step's undo history and the suggestion cards a user hid (issue 15). Self-contained: two new
-- tables only, so this block can be renumbered at a merge.
CREATE TABLE label_undo (
    id INTEGER PRIMARY KEY AUTOINCREMENT,  -- the newest action has the highest id
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    tab TEXT NOT NULL DEFAULT '',        -- the page tab (Desk) that did it, to say so when another undoes it
    at REAL NOT NULL,
    what TEXT NOT NULL CHECK (what IN ('labels', 'rename', 'merge', 'reject', 'keep')),
    body TEXT NOT NULL                   -- JSON: what taking it back needs (labels and hints before, names, cards)
);
CREATE INDEX label_undo_by_project ON label_undo(project_id, id);
CREATE TABLE label_hidden (
    project_id TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    class TEXT NOT NULL,                 -- the suggested class rejected, or the given class kept
    kind TEXT NOT NULL CHECK (kind IN ('reject', 'keep')),
    PRIMARY KEY (project_id, kind, sha1, class),
    FOREIGN KEY (project_id, sha1) REFERENCES photos(project_id, sha1) ON DELETE CASCADE
);

-- migration: 5
-- Feedback caps and where feedback came from (security issue 3: feedback had no cap per link or project).
-- demo_feedback_days counts the photos each link took per day (UTC), in the database so that a restart or a
-- second process does not reset the daily caps. It names its link without a foreign key: a link deleted with
-- its run still counts towards its project's day. A project's rows of other days go when it counts a new one.
-- demo_feedback_photos says which link each photo a visitor added came through (a photo the project had
-- already is not the visitor's), so that the owner can delete exactly those. A row goes with its photo or link.
CREATE TABLE demo_feedback_days (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    link_id TEXT NOT NULL,
    day TEXT NOT NULL,                   -- YYYY-MM-DD, UTC
    photos INTEGER NOT NULL DEFAULT 0,   -- taken (or being taken) that day through the link
    PRIMARY KEY (link_id, day)
);
CREATE INDEX demo_feedback_days_by_project ON demo_feedback_days(project_id, day);
CREATE TABLE demo_feedback_photos (
    project_id TEXT NOT NULL,
    sha1 TEXT NOT NULL,
    link_id TEXT NOT NULL REFERENCES demo_links(id) ON DELETE CASCADE,
    at REAL NOT NULL,
    PRIMARY KEY (project_id, sha1),
    FOREIGN KEY (project_id, sha1) REFERENCES photos(project_id, sha1) ON DELETE CASCADE
);
CREATE INDEX demo_feedback_photos_by_link ON demo_feedback_photos(link_id);

-- migration: 6
-- Who gave each label (the issue "Numbers a person can trust when the model helped label", item 1): once the
-- model's own suggestions are labels, a validation drawn from them grades the model on its own guesses.
-- label_source: 'person' (a click in the Label step, class folders, an import unless it says otherwise) or
-- 'suggestion' (a suggestion accepted in bulk), NULL while unlabelled. A suggestion keeps its confidence (0-1),
-- the number of the project's run that suggested it (label_run, never reused in a project), or else what
-- suggested it (label_model: the Label step's live head, a Label Studio prediction's model_version).
-- hint_source: what kind of hint a photo has. A hint is never a label: 'visitor' (a demo link's visitor said
-- so: a label only once the owner confirms it) or 'folder' (the folder a photo sat in).
-- checkset: 1 when the photo was drawn at random for the project's check set.
-- Old labels are a person's, except those the Label step marked as accepted suggestions in their hint (the
-- hint 'model:' and the class): those are suggestions of unknown confidence, and the marks go. Old hints of
-- photos under feedback/ (where a visitor's photo is added) or recorded as a visitor's are a visitor's, the
-- others a folder's.
-- SQLite checks an added column's CHECK against the rows already there, so the row rule (a label has its
-- source, a hint its kind, only a suggestion has a confidence, run or model) sits on the last column, added
-- once the UPDATEs have made every row keep it.
ALTER TABLE photos ADD COLUMN label_source TEXT CHECK (label_source IN ('person', 'suggestion'));
ALTER TABLE photos ADD COLUMN label_confidence REAL CHECK (label_confidence BETWEEN 0 AND 1);
ALTER TABLE photos ADD COLUMN label_run INTEGER CHECK (label_run > 0);
ALTER TABLE photos ADD COLUMN label_model TEXT;
ALTER TABLE photos ADD COLUMN hint_source TEXT CHECK (hint_source IN ('visitor', 'folder'));
UPDATE photos SET label_source = CASE WHEN hint = 'model:' || label THEN 'suggestion' ELSE 'person' END
    WHERE label IS NOT NULL;
UPDATE photos SET hint = NULL WHERE substr(hint, 1, 6) = 'model:';
UPDATE photos SET hint_source = CASE WHEN substr(path, 1, 9) = 'feedback/' OR EXISTS (SELECT 1 FROM
    demo_feedback_photos f WHERE f.project_id = photos.project_id AND f.sha1 = photos.sha1) THEN 'visitor'
    ELSE 'folder' END WHERE hint IS NOT NULL;
ALTER TABLE photos ADD COLUMN checkset INTEGER NOT NULL DEFAULT 0 CHECK (checkset IN (0, 1)
    AND (label IS NULL) = (label_source IS NULL) AND (hint IS NULL) = (hint_source IS NULL)
    AND (label_source = 'suggestion' OR (label_confidence IS NULL AND label_run IS NULL AND label_model IS NULL)));
CREATE INDEX photos_by_label_source ON photos(project_id, label_source);

-- name: labelled_photo_splits
SELECT label, sha1, split FROM photos WHERE project_id=? AND label IS NOT NULL;

-- name: set_photo_split
UPDATE photos SET split=? WHERE project_id=? AND sha1=?;

-- name: count_by_label
SELECT label, COUNT(*) FROM photos WHERE project_id=? AND label IS NOT NULL GROUP BY label;

-- name: add_class
INSERT OR IGNORE INTO classes(project_id, name) VALUES (?,?);

-- name: unlabel_class
UPDATE photos SET label=NULL, label_source=NULL, label_confidence=NULL, label_run=NULL, label_model=NULL WHERE project_id=? AND label=?;

-- name: delete_class
DELETE FROM classes WHERE project_id=? AND name=?;

-- name: set_photo_label
UPDATE photos SET label=?, label_source=?, label_confidence=?, label_run=?, label_model=? WHERE project_id=? AND sha1=?;

-- name: move_photo_label
UPDATE photos SET label=? WHERE project_id=? AND sha1=? AND label IS NOT NULL;

-- name: set_label_origin
UPDATE photos SET label_source=?, label_confidence=?, label_run=?, label_model=? WHERE project_id=? AND sha1=? AND label=?;

-- name: count_by_source
SELECT label_source, COUNT(*) FROM photos WHERE project_id=? AND label IS NOT NULL GROUP BY label_source;

-- name: mark_check_set
UPDATE photos SET checkset=? WHERE project_id=? AND sha1=?;

-- name: set_photo_hint
UPDATE photos SET hint=?, hint_source=? WHERE project_id=? AND sha1=?;

-- name: delete_photo
DELETE FROM photos WHERE project_id=? AND sha1=?;

-- name: insert_project
INSERT INTO projects(id, owner, name, created, used) VALUES (?,?,?,?,?);

-- name: rename_project
UPDATE projects SET name=? WHERE id=?;

-- name: relabel_class
UPDATE photos SET label=? WHERE project_id=? AND label=?;

-- name: rename_class
UPDATE classes SET name=? WHERE project_id=? AND name=?;

-- name: touch_project
UPDATE projects SET used=? WHERE id=?;

-- name: photos_bytes
SELECT COALESCE(SUM(bytes), 0) FROM photos WHERE project_id=?;

-- name: bundles_bytes
SELECT COALESCE(SUM(bundle_bytes), 0) FROM runs WHERE project_id=?;

-- name: all_project_ids
SELECT id FROM projects;

-- name: project_of_owner
SELECT id FROM projects WHERE id=? AND owner=?;

-- name: project_by_name
SELECT id FROM projects WHERE owner=? AND name=?;

-- name: hand_over_project
UPDATE projects SET owner=?, name=? WHERE id=? AND owner=?;

-- name: count_other_owners_projects
SELECT COUNT(*) FROM projects WHERE owner<>?;

-- name: list_projects
SELECT p.id, p.name, p.created, p.used, (SELECT COUNT(*) FROM photos f WHERE f.project_id=p.id), (SELECT COUNT(*) FROM photos f WHERE f.project_id=p.id AND f.label IS NOT NULL), (SELECT COUNT(*) FROM runs r WHERE r.project_id=p.id) FROM projects p WHERE p.owner=? ORDER BY p.used DESC, p.created DESC;

-- name: delete_project
DELETE FROM projects WHERE id=? AND owner=?;

-- name: idle_projects
SELECT id, owner FROM projects WHERE used < ?;

-- name: project_name_active
SELECT name, active_run FROM projects WHERE id=?;

-- name: class_names
SELECT name FROM classes WHERE project_id=? ORDER BY name;

-- name: count_by_split
SELECT split, COUNT(*) FROM photos WHERE project_id=? AND label IS NOT NULL GROUP BY split;

-- name: project_meta
SELECT name, created, used, active_run, active_pinned, runs_made FROM projects WHERE id=?;

-- name: activity
SELECT at, what FROM activity WHERE project_id=? ORDER BY id DESC LIMIT ?;

-- name: class_exists
SELECT 1 FROM classes WHERE project_id=? AND name=?;

-- name: insert_photo
INSERT INTO photos(project_id, sha1, ext, path, label, label_source, label_confidence, label_run, label_model, split, bytes, added) VALUES (?,?,?,?,?,?,?,?,?,?,?,?);

-- name: photo_ids
SELECT sha1 FROM photos WHERE project_id=?;

-- name: project_name
SELECT name FROM projects WHERE id=?;

-- name: count_photos
SELECT COUNT(*) FROM photos WHERE project_id=?;

-- name: photo_label
SELECT label FROM photos WHERE project_id=? AND sha1=?;

-- name: owned_project
SELECT 1 FROM projects WHERE id=? AND owner=?;

-- name: set_active_run
UPDATE projects SET active_run=?, active_pinned=0 WHERE id=?;

-- name: count_run_made
UPDATE projects SET runs_made=runs_made+1 WHERE id=?;

-- name: runs_made
SELECT runs_made FROM projects WHERE id=?;

-- name: raise_runs_made
UPDATE projects SET runs_made=MAX(runs_made, ?) WHERE id=?;

-- name: give_back_run_number
UPDATE projects SET runs_made=runs_made-1 WHERE id=? AND runs_made=?;

-- name: start_run
INSERT INTO runs(project_id, number, status, settings, started, pid, pid_start, host) VALUES (?,?,?,?,?,?,?,?);

-- name: finish_run
UPDATE runs SET status=?, history=?, metrics=?, val_accuracy=?, bundle=?, bundle_bytes=?, message=?, ended=? WHERE id=? AND project_id=?;

-- name: unset_active_run
UPDATE projects SET active_run=NULL, active_pinned=0 WHERE id=? AND active_run=?;

-- name: delete_run
DELETE FROM runs WHERE id=?;

-- name: pin_active_run
UPDATE projects SET active_run=?, active_pinned=1 WHERE id=?;

-- name: insert_run
INSERT INTO runs(project_id, number, status, settings, history, metrics, val_accuracy, message, started, ended) VALUES (?,?,?,?,?,?,?,?,?,?);

-- name: active_run_and_pin
SELECT active_run, active_pinned FROM projects WHERE id=?;

-- name: best_run
SELECT id FROM runs WHERE project_id=? AND status IN ('finished','stopped') AND bundle IS NOT NULL ORDER BY val_accuracy IS NULL, val_accuracy DESC, status='stopped', id LIMIT 1;

-- name: unpin_active_run
UPDATE projects SET active_pinned=0 WHERE id=?;

-- name: set_run_bundle
UPDATE runs SET bundle=?, bundle_bytes=? WHERE id=?;

-- name: restore_active_run
UPDATE projects SET active_run=?, active_pinned=? WHERE id=?;

-- name: interrupt_run
UPDATE runs SET status='interrupted', ended=?, message=? WHERE id=?;

-- name: runs
SELECT id, number, status, settings, history, metrics, val_accuracy, bundle, message, started, ended FROM runs WHERE project_id=? ORDER BY number;

-- name: run_bundle
SELECT bundle, number FROM runs WHERE id=? AND project_id=?;

-- name: run_status_bundle
SELECT status, bundle, number FROM runs WHERE id=? AND project_id=?;

-- name: run_number
SELECT number FROM runs WHERE id=? AND project_id=?;

-- name: running_runs
SELECT id, pid, pid_start, host, number FROM runs WHERE project_id=? AND status='running';

-- name: active_run
SELECT active_run FROM projects WHERE id=?;

-- name: insert_activity
INSERT INTO activity(project_id, at, what) VALUES (?,?,?);

-- name: trim_activity
DELETE FROM activity WHERE project_id=? AND id <= (SELECT id FROM activity WHERE project_id=? ORDER BY id DESC LIMIT 1 OFFSET ?);

-- name: synchronous_full
PRAGMA synchronous = FULL;

-- name: foreign_keys_on
PRAGMA foreign_keys = ON;

-- name: wal_on
PRAGMA journal_mode = WAL;

-- name: begin_immediate
BEGIN IMMEDIATE;

-- name: journal_mode
PRAGMA journal_mode;

-- name: user_version
PRAGMA user_version;

-- name: quick_check
PRAGMA quick_check;

-- name: set_user_version
PRAGMA user_version = {};

-- name: busy_timeout
PRAGMA busy_timeout = {};

-- name: photos_where
SELECT sha1, ext, path, label, split, hint, label_source, label_confidence, label_run, label_model, hint_source, checkset FROM photos WHERE project_id=?;

-- name: and_unlabelled
AND label IS NULL;

-- name: and_label
AND label=?;

-- name: and_split
AND split=?;

-- name: order_by_path
ORDER BY path, sha1;

-- name: photo_files_in
SELECT sha1, ext FROM photos WHERE project_id=? AND sha1 IN ({});

-- name: insert_demo_link
INSERT INTO demo_links(id, project_id, run_id, created, feedback) VALUES (?,?,?,?,?);

-- name: demo_links_of_project
SELECT l.id, l.run_id, r.number, l.created, l.revoked, l.feedback, l.feedback_count FROM demo_links l JOIN runs r ON r.id=l.run_id WHERE l.project_id=? ORDER BY l.created, l.id;

-- name: live_demo_link
SELECT l.id, l.project_id, p.owner, p.name, l.run_id, r.number, r.bundle, l.feedback FROM demo_links l JOIN projects p ON p.id=l.project_id JOIN runs r ON r.id=l.run_id AND r.project_id=l.project_id WHERE l.id=? AND l.revoked IS NULL;

-- name: revoke_demo_link
UPDATE demo_links SET revoked=? WHERE id=? AND project_id=? AND revoked IS NULL;

-- name: set_demo_feedback
UPDATE demo_links SET feedback=? WHERE id=? AND project_id=? AND revoked IS NULL;

-- name: count_demo_feedback
UPDATE demo_links SET feedback_count=feedback_count+1 WHERE id=? AND project_id=?;

-- name: insert_label_undo
INSERT INTO label_undo(project_id, tab, at, what, body) VALUES (?,?,?,?,?);

-- name: trim_label_undo
DELETE FROM label_undo WHERE project_id=? AND id <= (SELECT id FROM label_undo WHERE project_id=? ORDER BY id DESC LIMIT 1 OFFSET ?);

-- name: last_label_undo
SELECT id, tab, what, body FROM label_undo WHERE project_id=? ORDER BY id DESC LIMIT 1;

-- name: delete_label_undo
DELETE FROM label_undo WHERE id=? AND project_id=?;

-- name: count_label_undo
SELECT COUNT(*) FROM label_undo WHERE project_id=?;

-- name: photo_label_hint
SELECT label, hint, label_source, label_confidence, label_run, label_model, hint_source FROM photos WHERE project_id=? AND sha1=?;

-- name: hide_card
INSERT OR IGNORE INTO label_hidden(project_id, sha1, class, kind) VALUES (?,?,?,?);

-- name: unhide_card
DELETE FROM label_hidden WHERE project_id=? AND sha1=? AND class=? AND kind=?;

-- name: hidden_cards
SELECT sha1, class FROM label_hidden WHERE project_id=? AND kind=?;

-- name: demo_link_takes_feedback
SELECT 1 FROM demo_links WHERE id=? AND project_id=? AND feedback=1 AND revoked IS NULL;

-- name: forget_other_feedback_days
DELETE FROM demo_feedback_days WHERE project_id=? AND day<>?;

-- name: feedback_today_of_link
SELECT COALESCE(SUM(photos), 0) FROM demo_feedback_days WHERE link_id=? AND day=?;

-- name: feedback_today_of_project
SELECT COALESCE(SUM(photos), 0) FROM demo_feedback_days WHERE project_id=? AND day=?;

-- name: count_feedback_day
INSERT INTO demo_feedback_days(project_id, link_id, day, photos) VALUES (?,?,?,1) ON CONFLICT(link_id, day) DO UPDATE SET photos=photos+1;

-- name: uncount_feedback_day
UPDATE demo_feedback_days SET photos=photos-1 WHERE link_id=? AND day=? AND photos>0;

-- name: set_unlabelled_hint
UPDATE photos SET hint=?, hint_source=? WHERE project_id=? AND sha1=? AND label IS NULL;

-- name: insert_demo_feedback_photo
INSERT OR IGNORE INTO demo_feedback_photos(project_id, sha1, link_id, at) VALUES (?,?,?,?);

-- name: delete_unlabelled_photo
DELETE FROM photos WHERE project_id=? AND sha1=? AND label IS NULL;

-- name: stop_demo_feedback
UPDATE demo_links SET feedback=0 WHERE id=? AND project_id=?;

-- name: demo_feedback_photos_of_link
SELECT f.sha1, p.ext, p.label FROM demo_feedback_photos f JOIN photos p ON p.project_id=f.project_id AND p.sha1=f.sha1 WHERE f.link_id=? AND f.project_id=? ORDER BY f.at, f.sha1;
