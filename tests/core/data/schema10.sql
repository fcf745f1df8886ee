-- A real schema-10 project file, as SQL: written by the tool at commit 1aa3d8e (the last of
-- schema 10) with two documents: n1 with an imported entity and a question with two model
-- suggestions, the first accepted (its answer points at it); n2 with an imported answer.
-- Dumped with sqlite3's iterdump. Loaded by tests/core/test_store.py.
BEGIN TRANSACTION;
CREATE TABLE alembic_version (
	version_num VARCHAR(32) NOT NULL, 
	CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
INSERT INTO "alembic_version" VALUES('schema_10');
CREATE TABLE answer_annotations (
	id INTEGER NOT NULL, 
	question_id INTEGER NOT NULL, 
	start INTEGER NOT NULL, 
	"end" INTEGER NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT answer_offsets CHECK (start >= 0 AND start < "end"), 
	FOREIGN KEY(question_id) REFERENCES questions (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
INSERT INTO "answer_annotations" VALUES(1,2,10,18,'import','2026-12-03 08:36:01.796496','imported',NULL);
INSERT INTO "answer_annotations" VALUES(2,1,10,17,'user','2026-12-03 08:36:01.840895','accepted',1);
CREATE TABLE assignments (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT assignment_unique UNIQUE (document_id, annotator), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE
);
CREATE TABLE class_annotations (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	label_id INTEGER NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT class_unique UNIQUE (document_id, label_id), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE, 
	FOREIGN KEY(label_id) REFERENCES labels (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
CREATE TABLE document_scores (
	document_id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	strategy VARCHAR(32) NOT NULL, 
	model_version_id INTEGER, 
	score FLOAT NOT NULL, 
	PRIMARY KEY (document_id, task_id, strategy), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE, 
	FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE, 
	FOREIGN KEY(model_version_id) REFERENCES model_versions (id) ON DELETE CASCADE
);
CREATE TABLE document_tasks (
	document_id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	source VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (document_id, kind, source), 
	CONSTRAINT document_task_kind CHECK (kind IN ('ner', 'classify', 'qa', 'sentence', 'attribute', 'relation')), 
	CONSTRAINT document_task_source CHECK (source IN ('import', 'user')), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE
);
CREATE TABLE documents (
	id INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	external_id VARCHAR(500), 
	source TEXT, 
	meta JSON NOT NULL, 
	content_hash VARCHAR(64) NOT NULL, 
	split VARCHAR(16) NOT NULL, 
	review_status VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	reviewed_at DATETIME, 
	layer_of INTEGER, 
	layer VARCHAR(100), 
	reviewed_by VARCHAR(100), 
	PRIMARY KEY (id), 
	CONSTRAINT doc_split CHECK (split IN ('train', 'dev', 'test', 'unassigned')), 
	CONSTRAINT doc_status CHECK (review_status IN ('unreviewed', 'reviewed', 'skipped')), 
	UNIQUE (content_hash), 
	FOREIGN KEY(layer_of) REFERENCES documents (id) ON DELETE CASCADE
);
INSERT INTO "documents" VALUES(1,'No fever; aspirin daily.','n1',NULL,'{}','f0677e8b030ffd0983a89115718cfe770d2104c4d033b68e65487567ee7c3a19','unassigned','unreviewed','2026-12-03 08:36:01.804263',NULL,NULL,NULL,NULL);
INSERT INTO "documents" VALUES(2,'Cough for two days.','n2',NULL,'{}','4eacfbdb5ba1805f34ec417385247ff74bd0272bec0495f92490dabd216fe36e','unassigned','unreviewed','2026-12-03 08:36:01.819417',NULL,NULL,NULL,NULL);
CREATE TABLE entity_annotations (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	label_id INTEGER NOT NULL, 
	start INTEGER NOT NULL, 
	"end" INTEGER NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT entity_offsets CHECK (start >= 0 AND start < "end"), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE, 
	FOREIGN KEY(label_id) REFERENCES labels (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
INSERT INTO "entity_annotations" VALUES(1,1,1,3,8,'import','2026-12-03 08:36:01.796496','imported',NULL);
CREATE TABLE entity_attributes (
	id INTEGER NOT NULL, 
	entity_id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	value VARCHAR(200) NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT entity_attribute_unique UNIQUE (entity_id, name), 
	FOREIGN KEY(entity_id) REFERENCES entity_annotations (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
CREATE TABLE entity_relations (
	id INTEGER NOT NULL, 
	head_id INTEGER NOT NULL, 
	tail_id INTEGER NOT NULL, 
	label VARCHAR(200) NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT entity_relation_unique UNIQUE (head_id, tail_id, label), 
	CONSTRAINT entity_relation_ends CHECK (head_id <> tail_id), 
	FOREIGN KEY(head_id) REFERENCES entity_annotations (id) ON DELETE CASCADE, 
	FOREIGN KEY(tail_id) REFERENCES entity_annotations (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
CREATE TABLE labels (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	color VARCHAR(16) NOT NULL, 
	shortcut VARCHAR(16), 
	position INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT label_name_unique UNIQUE (task_id, name), 
	FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE
);
INSERT INTO "labels" VALUES(1,1,'Condition','#E69F00','1',0);
INSERT INTO "labels" VALUES(2,1,'Medication','#56B4E9','2',1);
CREATE TABLE meta (
	"key" VARCHAR(64) NOT NULL, 
	value TEXT NOT NULL, 
	PRIMARY KEY ("key")
);
INSERT INTO "meta" VALUES('schema_version','10');
INSERT INTO "meta" VALUES('application','text-annotator');
CREATE TABLE model_versions (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	base_model TEXT NOT NULL, 
	path TEXT NOT NULL, 
	metrics JSON NOT NULL, 
	labels JSON NOT NULL, 
	is_active BOOLEAN NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT model_version_unique UNIQUE (task_id, version), 
	FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE
);
CREATE TABLE project (
	id INTEGER NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	created_at DATETIME NOT NULL, 
	settings JSON NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "project" VALUES(1,'v10','2026-12-03 08:36:01.715828','{}');
CREATE TABLE questions (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	text TEXT NOT NULL, 
	external_id VARCHAR(200), 
	is_impossible BOOLEAN NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
INSERT INTO "questions" VALUES(1,1,'What drug?',NULL,0,'import','2026-12-03 08:36:01.796496','imported',NULL);
INSERT INTO "questions" VALUES(2,2,'How long?',NULL,0,'import','2026-12-03 08:36:01.796496','imported',NULL);
CREATE TABLE sentence_classes (
	id INTEGER NOT NULL, 
	sentence_id INTEGER NOT NULL, 
	label_id INTEGER NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	created_at DATETIME NOT NULL, 
	origin VARCHAR(16) NOT NULL, 
	suggestion_id INTEGER, 
	PRIMARY KEY (id), 
	CONSTRAINT sentence_class_unique UNIQUE (sentence_id, label_id), 
	FOREIGN KEY(sentence_id) REFERENCES sentences (id) ON DELETE CASCADE, 
	FOREIGN KEY(label_id) REFERENCES labels (id) ON DELETE CASCADE, 
	FOREIGN KEY(suggestion_id) REFERENCES suggestions (id) ON DELETE SET NULL
);
CREATE TABLE sentences (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	start INTEGER NOT NULL, 
	"end" INTEGER NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT sentence_offsets CHECK (start >= 0 AND start < "end"), 
	CONSTRAINT sentence_unique UNIQUE (document_id, start), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE
);
CREATE TABLE suggestions (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	question_id INTEGER, 
	model_version_id INTEGER, 
	kind VARCHAR(16) NOT NULL, 
	payload JSON NOT NULL, 
	confidence FLOAT NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	decided_at DATETIME, 
	source VARCHAR(200), 
	decided_by VARCHAR(100), 
	PRIMARY KEY (id), 
	CONSTRAINT suggestion_kind CHECK (kind IN ('entity', 'class', 'answer', 'sentence', 'attribute', 'relation')), 
	CONSTRAINT suggestion_state CHECK (state IN ('pending', 'accepted', 'rejected', 'edited')), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE, 
	FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE, 
	FOREIGN KEY(question_id) REFERENCES questions (id) ON DELETE CASCADE, 
	FOREIGN KEY(model_version_id) REFERENCES model_versions (id) ON DELETE CASCADE
);
INSERT INTO "suggestions" VALUES(1,1,2,1,NULL,'answer','{"start": 10, "end": 17, "text": "aspirin"}',0.9,'accepted','2026-12-03 08:36:01.828637','2026-12-03 08:36:01.841371','model','user');
INSERT INTO "suggestions" VALUES(2,1,2,1,NULL,'answer','{"start": 18, "end": 23, "text": "daily"}',0.4,'pending','2026-12-03 08:36:01.828646',NULL,'model',NULL);
CREATE TABLE tasks (
	id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	multi_label BOOLEAN NOT NULL, 
	settings JSON NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT task_kind CHECK (kind IN ('ner', 'classify', 'qa', 'sentence', 'attribute', 'relation')), 
	UNIQUE (kind)
);
INSERT INTO "tasks" VALUES(1,'ner',0,'{}');
INSERT INTO "tasks" VALUES(2,'qa',0,'{}');
CREATE TABLE timings (
	id INTEGER NOT NULL, 
	document_id INTEGER NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	action VARCHAR(64) NOT NULL, 
	annotator VARCHAR(100) NOT NULL, 
	seconds FLOAT NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT timing_kind CHECK (kind IN ('ner', 'classify', 'qa', 'sentence', 'attribute', 'relation')), 
	FOREIGN KEY(document_id) REFERENCES documents (id) ON DELETE CASCADE
);
CREATE TABLE training_runs (
	id INTEGER NOT NULL, 
	task_id INTEGER NOT NULL, 
	settings JSON NOT NULL, 
	status VARCHAR(16) NOT NULL, 
	epochs JSON NOT NULL, 
	warnings JSON NOT NULL, 
	log TEXT NOT NULL, 
	error TEXT, 
	started_at DATETIME NOT NULL, 
	finished_at DATETIME, 
	pid INTEGER, 
	host VARCHAR(255), 
	model_version_id INTEGER, 
	PRIMARY KEY (id), 
	FOREIGN KEY(task_id) REFERENCES tasks (id) ON DELETE CASCADE, 
	FOREIGN KEY(model_version_id) REFERENCES model_versions (id) ON DELETE SET NULL
);
CREATE INDEX ix_documents_layer_of ON documents (layer_of);
CREATE INDEX ix_documents_split_status ON documents (split, review_status);
CREATE INDEX ix_documents_external_id ON documents (external_id);
CREATE INDEX ix_question_doc ON questions (document_id);
CREATE INDEX ix_suggestion_doc_task ON suggestions (document_id, task_id, state);
CREATE INDEX ix_assignments_annotator ON assignments (annotator);
CREATE INDEX ix_sentence_doc ON sentences (document_id);
CREATE INDEX ix_answer_question ON answer_annotations (question_id);
CREATE INDEX ix_timings_document_id ON timings (document_id);
CREATE INDEX ix_entity_doc ON entity_annotations (document_id);
CREATE INDEX ix_class_doc ON class_annotations (document_id);
CREATE INDEX ix_sentence_class_sentence ON sentence_classes (sentence_id);
CREATE INDEX ix_score_rank ON document_scores (task_id, strategy, score);
CREATE INDEX ix_entity_attribute_entity ON entity_attributes (entity_id);
CREATE INDEX ix_entity_relation_tail ON entity_relations (tail_id);
COMMIT;
