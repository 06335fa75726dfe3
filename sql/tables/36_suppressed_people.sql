-- People erased by `learnstream forget` (README "Personal data (LGPD)"): each identity
-- (e-mail, CPF, platform id) as a keyed hash, so events that name them are never stored
-- again (a redelivery, a replay from Kafka, replay-dead-letters, rebuild), and nothing here
-- names them to anyone without the key.
create table if not exists suppressed_people (
    identity_hash varchar primary key,
    person_hash   varchar not null,
    key_id        varchar not null,
    suppressed_at timestamptz not null
);

comment on table suppressed_people is
    'One row per identity of an erased person (e-mail, CPF or platform id), as HMAC-SHA256 under LEARNSTREAM_PSEUDONYM_KEY: events naming any of them are counted in deliveries.suppressed and not stored.';
comment on column suppressed_people.identity_hash is
    'HMAC-SHA256 (hex) of the typed identity: email:<lower(trim(e-mail))>, cpf:<11 digits> or id:<platform>:<id>.';
comment on column suppressed_people.person_hash is
    'HMAC-SHA256 of the identity the request named: the same for every identity of one person, and what erasures lists.';
comment on column suppressed_people.key_id is
    'Names the key the hashes were made with (an HMAC of a fixed text), so a changed key is refused instead of silently matching nobody.';
