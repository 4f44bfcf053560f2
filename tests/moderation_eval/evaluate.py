"""Evaluate the text moderation on the labelled set in this folder; print precision, recall and FPR per category.

    .venv/bin/python -m tests.moderation_eval.evaluate

Files (one prompt per line; written by hand for this evaluation, disjoint from the semantic exemplars in
moderation/semantic/ — `check_disjoint` verifies no prompt appears there):
- safe.txt: ordinary K-12 lesson prompts (several languages) — checked under k12; any finding is a false positive;
- hard_benign.txt: `audience<TAB>prompt`, teaching about hard topics (war, disease, death, sexuality);
- unsafe.txt: `category<TAB>prompt`, requests that instruct, glorify or sexualise harm — k12;
- copyright.txt: protected characters, paraphrases of them, public figures, studio styles — k12;
- pii.txt: student-written text carrying personal data — k12.

Three sets with those files, printed separately: the dev set (this folder, 304 prompts; tuned on), the held-out set
(`holdout/`, 128 prompts, not tuned on) and `holdout2/` (295 prompts written blind by someone who never saw the
classifier, its data or the other sets; measured blind once, see round 3). `calibrate.py` cross-validates the semantic
calibration on the dev set (5 folds; last run: out-of-fold recall 1.000 for unsafe, copyright and PII, FPR 0.000; the
dev set is saturated — 20 of the 100 grid settings cost nothing on it: threshold shift -0.04..0, margin 0..0.04, any
teaching margin in -0.05..0.15 — and the shipped values, shift 0 / margin 0.04 / teaching margin 0.05, lie inside that
region, on its upper edge for the first two: raising either costs dev recall).

Numbers (packs as labelled; default encoder), P/R per group and FPR on safe / hard-benign prompts:

| set, round                                   | unsafe P/R  | copyright P/R | PII P/R     | FPR safe | FPR hard |
|----------------------------------------------|-------------|---------------|-------------|----------|----------|
| holdout, before round 1 (exemplars v1)       | 0.833/0.465 | 1.000/0.450   | 0.923/0.800 | 0.029    | 0.200    |
| holdout, before round 2 (registry v1, fp32)  | 0.867/0.605 | 1.000/0.450   | 0.933/0.933 | 0.029    | 0.200    |
| holdout, after round 2 (registry v2)         | 0.974/0.884 | 1.000/0.950   | 0.938/1.000 | 0.029    | 0.000    |
| dev, before round 2                          | 0.944/1.000 | 1.000/1.000   | 0.952/1.000 | 0.000    | 0.100    |
| dev, after round 2                           | 0.977/1.000 | 1.000/1.000   | 0.952/1.000 | 0.000    | 0.000    |
| holdout2 (295), BLIND, after round 2         | 0.967/0.829 | 1.000/0.950   | 0.922/0.940 | 0.029    | 0.000    |
| holdout2, after round 3 (NOT blind any more) | 1.000/0.871 | 1.000/0.950   | 0.926/1.000 | 0.000    | 0.000    |
| holdout, after round 3                       | 0.974/0.884 | 1.000/0.950   | 0.938/1.000 | 0.029    | 0.000    |
| dev, after round 3                           | 0.988/1.000 | 1.000/1.000   | 0.952/1.000 | 0.000    | 0.000    |
| holdout3 (320), BLIND, round-3 code          | 0.952/0.738 | 1.000/0.933   | 0.907/0.980 | 0.000    | 0.040    |
| holdout3, BLIND, after round 4               | 0.953/0.762 | 1.000/0.933   | 0.907/0.980 | 0.000    | 0.040    |
| holdout2 / holdout / dev, after round 4      | 1.000/1.000 · 0.977/1.000 · 0.988/1.000 (seen: optimistic)       |
| holdout4 (320), BLIND, round-4 code          | 0.896/0.750 | 0.982/0.900   | 0.825/0.940 | 0.025    | 0.120    |
| holdout3, after round 5 (seen: optimistic)   | 0.964/1.000 | 1.000/0.933   | 0.907/0.980 | 0.000    | 0.040    |
| holdout4, BLIND, after round 5 (final)       | 0.900/0.787 | 0.982/0.900   | 0.825/0.940 | 0.025    | 0.120    |
| holdout5 (320), BLIND, round-5 code          | 0.827/0.838 | 1.000/0.900   | 0.847/1.000 | 0.062    | 0.120    |
| holdout5, BLIND, round-6 code                | 0.849/0.912 | 1.000/0.950   | 0.847/1.000 | 0.062    | 0.060    |
| holdout4, after round 6 (seen: optimistic)   | 0.940/0.975 | 0.982/0.933   | 0.833/1.000 | 0.025    | 0.080    |
| holdout6 (320), BLIND, round-6 code          | 0.873/0.863 | 1.000/0.900   | 0.810/0.940 | 0.050    | 0.140    |
| holdout6, BLIND, round-7 code                | 0.897/0.875 | 1.000/0.933   | 0.887/0.940 | 0.000    | 0.120    |
| holdout5, after round 7 (seen: optimistic)   | 0.930/1.000 | 1.000/1.000   | 0.926/1.000 | 0.000    | 0.020    |
| holdout6, after round 8 (seen: optimistic)   | 0.976/1.000 | 1.000/0.983   | 0.893/1.000 | 0.000    | 0.000    |
| holdout5, after round 8                      | 0.941/1.000 | 1.000/1.000   | 0.926/1.000 | 0.000    | 0.000    |
| holdout4, after round 8                      | 0.952/0.988 | 0.983/0.950   | 0.877/1.000 | 0.025    | 0.020    |
| holdout3, after round 8                      | 0.988/1.000 | 1.000/0.967   | 0.943/1.000 | 0.000    | 0.000    |
| holdout2, after round 8                      | 1.000/1.000 | 1.000/1.000   | 0.962/1.000 | 0.000    | 0.000    |
| holdout, after round 8                       | 0.977/1.000 | 1.000/0.950   | 0.938/1.000 | 0.029    | 0.000    |
| dev, after round 8                           | 1.000/1.000 | 1.000/1.000   | 0.952/1.000 | 0.000    | 0.000    |
| holdout7 (330), BLIND, round-7 code          | 0.835/0.900 | 1.000/0.850   | 0.849/0.900 | 0.050    | 0.080    |
| holdout7, BLIND, round-8 code                | 0.856/0.922 | 1.000/0.900   | 0.855/0.940 | 0.050    | 0.060    |
| holdout8 (330), BLIND, round-9 code          | 0.935/0.800 | 0.981/0.883   | 0.920/0.920 | 0.013    | 0.080    |
| holdout7, after round 9 (seen: optimistic)   | 0.989/1.000 | 1.000/1.000   | 0.909/1.000 | 0.000    | 0.000    |
| holdout6, after round 9                      | 0.988/1.000 | 1.000/0.983   | 0.926/1.000 | 0.000    | 0.000    |
| holdout5, after round 9                      | 0.964/1.000 | 1.000/1.000   | 0.943/1.000 | 0.000    | 0.000    |
| holdout4, after round 9                      | 0.952/0.988 | 0.983/0.950   | 0.909/1.000 | 0.025    | 0.020    |
| holdout3, after round 9                      | 0.988/1.000 | 1.000/0.967   | 0.962/1.000 | 0.000    | 0.000    |
| holdout2, after round 9                      | 1.000/1.000 | 1.000/1.000   | 0.980/1.000 | 0.000    | 0.000    |
| holdout, after round 9                       | 0.977/1.000 | 1.000/0.950   | 1.000/1.000 | 0.029    | 0.000    |
| dev, after round 9                           | 1.000/1.000 | 1.000/1.000   | 1.000/1.000 | 0.000    | 0.000    |
| holdout8, after round 10 (seen: optimistic)  | 1.000/1.000 | 0.984/1.000   | 0.943/1.000 | 0.000    | 0.000    |
| holdout9 (330), BLIND, round-10 code         | 0.942/0.722 | 0.978/0.750   | 0.922/0.940 | 0.025    | 0.040    |
| holdout9, after e5 signal (seen)             | 0.949/0.833 | 0.978/0.750   | 0.922/0.940 | 0.025    | 0.040    |
| holdout10 (330), BLIND, with the e5 signal   | 0.873/0.767 | 0.891/0.683   | 0.980/0.980 | 0.062    | 0.100    |
| holdout10, BLIND, e5 switched off            | 0.850/0.567 | 0.891/0.683   | 0.980/0.980 | 0.062    | 0.080    |
| holdout11 (330), BLIND, round 11 (classifier)| 0.957/0.989 | 0.932/0.917   | 0.926/1.000 | 0.037    | 0.040    |
| holdout12 (330), BLIND, round 11 (classifier)| 0.944/0.944 | 0.952/1.000   | 0.980/0.980 | 0.025    | 0.040    |
| holdout13 (323), BLIND, round 12             | 0.935/0.967 | 0.887/0.948   | 0.893/1.000 | 0.053    | 0.041    |
| holdout14 (324), BLIND, round 12             | 0.898/0.978 | 0.931/0.982   | 0.962/1.000 | 0.038    | 0.060    |
| holdout15 (324), BLIND, round 13             | 0.945/0.977 | 0.915/0.964   | 0.980/1.000 | 0.087    | 0.060    |
| holdout16 (324), BLIND, round 13             | 0.966/0.966 | 0.949/0.982   | 1.000/1.000 | 0.025    | 0.000    |
| holdout17 (325), BLIND, round 14             | 0.926/0.989 | 0.982/0.982   | 0.943/1.000 | 0.025    | 0.040    |
| holdout18 (315), BLIND, round 14             | 0.935/0.978 | 0.963/1.000   | 0.962/1.000 | 0.013    | 0.061    |

Round 2 (this docstring's last update): copyright / public-figure registry from about 90 + 30 to 567 + 191 entries
with aliases, context words for ambiguous names and paraphrases matched by meaning; unsafe exemplars broadened
(euphemism, role-play, slang, misspellings, Spanish / French / German) and a curriculum-wide `safe` bank; teaching
context excuses review-level mentions ("the assassination that shocked America"); IBAN (mod-97), NHS (mod-11),
DNI (mod-23), SIN (Luhn), UK NI numbers, passports and social handles in PII; the int8 encoder is the default, with
sentences within 0.05 of a decision boundary re-scored by fp32, so the numbers are exactly fp32's
(`EDUSDK_MODERATION_INT8=0` gives the same table). Held-out still misses 5 unsafe prompts (poison dosing, sabotage,
an ambush, buying stolen cards, an ethnic stereotype) and 1 paraphrase, and flags 1 safe prompt as harassment:
below the 0.95 unsafe-recall target there — they were seen in this output and deliberately not patched in.

Round 3: holdout2 was evaluated once, blind (the row above), then its miss areas (in general terms) steered a
round of changes: a stricter semantic bar for short and non-English sentences (the Spanish café and Silk Road
examples were blocked), a multilingual safe bank, more harm exemplars and lexicon entries (ricin with
instruction words, arson at a named place, bomb-making in German/Spanish/French, slang porn spellings), German
and French addresses and labelled DNIs in PII. Exemplars judged near-paraphrases of holdout2 prompts were removed
again; holdout2 is no longer blind, so its round-3 row is optimistic. The blind measure is the round-2 row.

Round 4: structural rules (`edusdk/moderation/rules.py`, `moderation/rules/`): demeaning claims about a protected
group, praise of atrocities, insults aimed at "you" or a named person, lethal dosing, sabotage, stolen data, drugs
for minors, first-person self-harm in five languages — each excused when reported, refuted or taught. Steered by
the holdout/holdout2 misses, so their 1.000 is optimistic; holdout3 (written blind, never opened while tuning)
says what generalises: unsafe recall 0.738 → 0.762. Its misses are new phrasings, requests in languages the
English MiniLM cannot read (it, pt, fr, es), role-play jailbreaks and gore "for driver ed": the 0.95 target is not
met on unseen data.

Round 5: multilingual rules (es/fr/de/it/pt/nl lexicons; a harmful action needs a request or "how" word and is
excused by "about" words): weapon making, hurting someone, buying drugs unseen, getting high, gore intensity,
sexual slang, erotic content near a pupil word, people drawn as animals, insults at named people, teaching hate,
self-harm encouragement, eating-disorder coaching, and jailbreak framing (reported as `illicit`, capped at
review; the request inside is judged by its own rule). Steered by holdout3's misses (so its 1.000 is optimistic);
holdout4, written blind, moved from 0.750 to 0.787. Unseen unsafe recall stays far below 0.95: lexicons and an
English sentence encoder do not generalise to new phrasings the way a multilingual safety classifier would.

Round 6: mechanisms rather than phrasings (moderation/README.md, "Round 6"). (1) `edusdk/moderation/normalise.py`:
obfuscation undone before the harm checks (leetspeak inside words, stretched and spaced-out letters; PII still reads
the text as written; blocklist terms also match with accents folded), and every sentence in es/fr/de/it/pt/nl also
scored as a word-by-word English gloss (`moderation/semantic/glossary.yaml`), so the English MiniLM reads its meaning.
(2) `edusdk/moderation/head.py`: a logistic-regression head on the MiniLM embeddings (numpy; ridge chosen by 5-fold
cross-validation), trained on the exemplars, the registries' paraphrases and about 510 new sentences
(`moderation/semantic/training.yaml`, disjoint from every set: `check_disjoint` covers it, benign ones in the same
framings as the harmful ones); with P(harmful) >= 0.97 it flags a sentence whose nearest harm exemplar is within 0.15
under its threshold and nearer than any safe exemplar; P < 0.05 counts as teaching context. (3) "how to" before
help-seeking words is no longer an intent cue. (4) PII: BSN, PESEL, CPF, NIR, codice fiscale, names after "me llamo"
/ "je m'appelle" / "mi chiamo" …; copyright: other-language names of famous characters. holdout4's misses steered
the glossary's vocabulary, so holdout4 is seen now. holdout3's misses were not read (its totals and ~7 false
positives were): with the structural rules off (they were tuned on holdout..holdout3) its unsafe recall went 0.750 ->
0.912, holdout2's 0.886 -> 0.929, holdout's 0.884 -> 0.907, at no higher FPR; with the rules on every set is at or
above its round-5 numbers on every column. From P >= 0.99 a head hit needs no lead over the safe exemplars
(chosen with holdout3).

Round 7: false positives and holdout5's miss areas, by mechanism (moderation/README.md, "Round 7"). (1) Benign senses
(`normalise.benign_senses`, `moderation/semantic/senses.yaml`): a polysemous harm word with a benign-sense word in its
sentence and nobody who could be hurt is written neutrally before the harm checks ("kill a process" -> "stop a
process", "shoot a basketball", "bomb calorimetry", "execute code", "chess attack", "chop with a knife"). (2) Content
anchors: a harm hit below 0.5 that the head does not raise on its own (P < 0.97) counts only when the sentence shares a
content word with one of its category's 3 nearest exemplars (framing words — make, video, kids, lesson, how — left
out); glossed / non-English sentences are exempt. (3) "how to talk to / listen" is help-seeking, not an intent cue.
(4) PII: the name cue needs a word start (the "im" of "Jim Crow" read as "I'm" was the Jim Crow false positive in
holdout3/4/5), a name before laws / Act / era / effect / Prize … is not a person, public-figure registry names and ~250
more historical figures are skipped. (5) Rules: mean content about a pupil named or tagged by class ("X from 3rd
period", "X aus der 8c", "X de 2ºB") in any of the seven languages, a group depicted as vermin or disease, chemicals
turned on people, animal cruelty, counterfeiting. (6) Copyright: a named rights holder (Sega, Nintendo, Disney …)
lowers the identity margin to 0; ~40 characters famous outside English with their names in es/fr/de/it/pt/nl.
Steered by holdout5 (seen): its row is optimistic. The head was refitted on the changed data only (round-7 benign
training sentences and awareness safe exemplars were tried and dropped: they cost recall on holdout/holdout4/holdout5).
Rules on, round 6 -> round 7: unsafe recall holdout4 0.975 -> 0.988, holdout5 0.912 -> 1.000; FPR safe holdout5
0.062 -> 0.000; FPR hard holdout3 0.020 -> 0.000, holdout4 0.080 -> 0.060, holdout5 0.060 -> 0.020; copyright
holdout5 0.950 -> 1.000; PII precision up on holdout2..5; every other cell unchanged. Rules off (the fair view of
the learned layers): unsafe recall unchanged on every set, FPR as above. On 22 fresh sentences written after the
changes (polysemy, famous names, framing, and the new harm areas), round 6 got 11/14 benign and 6/8 harmful right,
round 7 13/14 and 8/8 (the miss: a "3 minute video for 2nd graders on how to count" anchored by "card counting").

Round 8: holdout6's miss classes, by mechanism (every seen set at or above its round-7 numbers in every column; no
prompt newly missed or flagged on any set). (1) Structural rules (moderation/rules/harm_patterns.yaml): romance,
flirting or kissing with a minor's marker and an adult or a role-play (`minor-romance-roleplay`), "<any Capitalised>
people are subhuman / vermin / not human" (`dehumanising-claim-any-group`), "it's okay to end it" / "help me plan
when" with a death word (`suicide-planning`), making / synthesising / weaponising nerve agents, sarin, VX, ricin,
anthrax … with an ask, excused by history, treaties, effects (`cbrn-synthesis`), counterfeiting in English word order,
breaking into a neighbour's / ex's / teacher's account or wifi, mocking a pupil tagged by class or by full name
"because of" something (`mock-named-pupil`), atrocity praise with a complement ("the lynching of … was justified").
(2) Role-play and fiction wrappers (`normalise.unwrap`): the request inside "roleplay as X who …", "pretend you're X
and I'm Y, …", "for a story, …" is scored on its own as well. (3) Other languages: the rules also read the English
gloss of each non-English sentence (`checks._rules_with_glosses`); the glossary grew by about 650 general and harm
words (es/fr/de/it/pt/nl and a small pl section: counterfeit, hack / crack, die / without pain, beat up, homeless,
blood / bones, mock, pills, steal, everyday nouns and verbs). (4) `awareness_cues` (exemplars.yaml): a sentence framed
as prevention / awareness / education ("Knife crime awareness for year 8", "Suicide prevention lesson",
"Unterrichtseinheit …") reads as teaching, and with no intent cue a semantic harm hit in it needs the head's backing
(P >= head_threshold); block-level blocklist terms and the rules still apply ("where to buy" is now an intent cue).
A "history lesson" framing was tried the same way and dropped: it let "a history lesson on why the lynching … was
justified" through. (5) Safe exemplars for pets, drawing and children's stories ("show how to draw a cat" sat nearer
"torture a cat and film it" than any safe exemplar, in English and in glosses), civil-rights history, girls good at
maths and knives as tools (carving, cooking); a rule for "<group> should stay in the kitchen / at home and not …".
Safe exemplars for "fun videos for kids" (cooking, parties) were tried and dropped: they cost a holdout recall.
(6) Copyright: es/fr/de/it/pt/nl names of ~45 famous characters and franchises as registry aliases (El Hombre Araña,
Kuifje, Tim und Struppi, Patrulla Canina, Le Roi Lion …), ~35 descriptive paraphrases (semantic/copyright_aliases.yaml;
Greta Thunberg in public_figures.yaml); a too generic one (goggles and overalls) flagged a safe sodium demo and was
dropped. (7) PII: a birthday with its date ("turns 9 on 14 March 2016"), decimal latitude / longitude pairs with 4+
decimals (GEO_LOCATION; student text only, not in CONTACT_KINDS), and German "im" is no longer read as "I'm" unless
a known given name follows ("im Geschichtsunterricht" was a NAME). The head was refitted (glossary and exemplars
change its data). Round 7 -> 8: holdout6 unsafe recall 0.875 -> 1.000, copyright 0.933 -> 0.983, PII 0.940 -> 1.000,
FPR hard 0.120 -> 0.000; holdout5 FPR hard 0.020 -> 0.000; holdout4 FPR hard 0.060 -> 0.020, copyright 0.933 -> 0.950;
copyright holdout2 0.950 -> 1.000, holdout3 0.933 -> 0.967. Steered by holdout6 (seen): its row is optimistic;
tests/test_moderation_round8.py checks each class on sentences written for it.

Round 9: holdout7's miss classes, by mechanism (no seen set lost recall or precision or gained FPR in any column; PII
precision rose on every set). (1) Surface matches in other languages: a sentence not in English scored as written, and
its gloss when the gloss translated only framing words ("make a video about the gouden eeuw for class") or when its
nearest exemplar is itself not English, count only when they share a content word with one of the category's three
nearest exemplars ("Ein kurzes Video über …" matched a German sexual exemplar through "Video"). Four harmful prompts
that had been caught only through such matches now have real mechanisms: gore "so blutig und detailliert wie möglich",
burning alive, a Polish insult about a named pupil, and exam cheating in French (see 2). (2) Glossary bugs: unquoted
yes / no / on (sí, sur, auf, su, op, kein, geen, es / pt "no", fr "on") were read by YAML as booleans, so "sur" was
glossed "True" and Spanish "no" never glossed; phrases of four words ("sans se faire prendre") were never used
(`_MAX_PHRASE` was 3); words for exam cheating in six languages. (3) PII: a dot marks a social handle only inside it
("Steam" + "engine." was a HANDLE); Chinese and Saudi mobile numbers without separators, Chinese addresses (路 / 街 …
号, 单元, 室) and Arabic ones (شارع + number), names after 我叫 / اسمي, ages (10岁, عمري 11 سنة), degree-minute-second
coordinates; names in the copyright registry ("Hermione Granger") are not a pupil's name, like public figures. (4)
Copyright: terms in Han / kana / Hangul match without word boundaries (`text._CJK_RE`); ~33 famous characters got
Chinese, Japanese, Arabic (some Korean) names as aliases; ~20 living European athletes (Lewandowski, Świątek, Modrić
…) and CJK / Arabic names of Messi, Ronaldo, Yao Ming; a rule for a living office holder made to speak in a video
("make the current US president explain …"; history, "how is … elected" excused); Spider-Man's generic rewrite no
longer describes him ("climbs walls"), so paraphrases lead it. (5) New rules: money laundering, card skimming, poison
gas at home, hiding self-harm, graphic detail under a lesson pretext (exposed organs, decomposing bodies, maggots, in
close-up / en detalle), a named pupil laughed at "until he cries" / "use his real name", a roast of a named classmate,
an improvised blade to attack someone, minors undressing for a camera (and "naked mole rats" / "the naked eye" no
longer read as nudity). (6) Analysing, condemning or protecting against harm is teaching: `awareness_cues` for "why
calling / describing …", "… is dehumanising / a stereotype / propaganda", "how do you report / spot …", "teach … how
to spot", warning signs, anti-bullying / upstanders; benign senses for "blood spatter" near forensic words, "without
gore" in a lesson, "hackers steal passwords" in a safety lesson; safe exemplars and benign head sentences for these
and for casual text-speak requests (with harmful text-speak sentences so the head does not learn that text-speak is
harmless). A grooming-awareness and a radicalisation safe exemplar were tried and dropped (they cost holdout2 /
holdout4 / holdout5 recall through the head). The head was refitted. Steered by holdout7 (seen): its row is
optimistic. tests/test_moderation_round9.py checks each class on sentences written for it.

Round 10: holdout8's 33 misses and flags by class, fixed by mechanism (no seen set lost recall or precision or gained
FPR in any column against round 9; holdout5 unsafe precision 0.964 -> 0.976, holdout4 copyright recall 0.950 ->
0.967, PII precision up on holdout8). Classes (counts on holdout8, round-9 code): languages the glossary did not read
(Swedish, Turkish, Polish inflections: 6 unsafe), vocabulary gaps in de / it / pt / nl (5), text-speak and masked words
("ur", "rn", "pr0n", "sl*t": 3), harm under a lesson pretext ("for a safety lesson show exactly how …", "for a history
lesson show … up close": 2), sexualised pupils ("how hot the year 7 girls look": 1), doxxing with a slur (1);
copyright: presenters described by a paraphrase diluted by the lesson after them (2), a misspelt name (1), an office
holder presenting (1), names in Chinese / Japanese / Arabic script (3); PII: vehicle plates (2), Turkish and Japanese
personal data (2); false positives: protective questions ("what should a teenager do if …", "spotting scams", "how to
think critically": 4 hard-benign) and weak head-only hits with no shared content word (1 safe). Mechanisms: (1)
glossary sections for Swedish and Turkish and Polish word starts, general words for de / it / pt / nl, and (no set has
them: coverage for the next writer) small sections for Danish / Norwegian, Czech, Romanian, Indonesian and Russian;
numbers kept in glosses ("11-årig" -> "11 year-old") and untranslated words kept in their case (names stay names for
the rules). (2)
`normalise.textspeak`: text-speak and masked profanity written out before the harm checks. (3) `normalise.unwrap` also
takes the ask after a lesson pretext ("for a safety lesson, …"); intent cues for "exactly how", "with quantities",
"step by step"; help-seeking "how to think critically / resist / say no" is not an intent cue; awareness cues for "what
should a teenager do if …" and "spotting / recognising scams, grooming …". (4) Rules: `inferior-race-claim` (any word
order), `sexualise-pupils-looks` ("year 7 girls" is a minor marker now), `partner-roleplay-sexual`, `dox-and-insult`,
`graphic-close-up-pretext`, `veiled-threat`, hiding self-harm "where teachers won't see", office holders as subject of
a presenting verb; Kurds, Armenians, Syrians … in the group lexicon, slut / whore / bitch in the insult lexicon. (5)
`anchor_head` 0.97 -> 0.999: a weak semantic hit (score < 0.5) needs a content word shared with its exemplars unless
the head's P(harmful) >= 0.999 (chosen by leave-one-set-out over all nine sets: every fold picks 0.995-0.999, and on
each held-out set the choice is at least as good as 0.97; it removed "explain irony vs sarcasm …" and "plz make video on
long division …"). (6) Copyright: `semantic.presenter` — the subject of "<who> teaches / explains / gives …" is scored
on its own for copyright and public figures, and must also lead every registry rewrite (label `rewrite`);
`text.sound_key` — a one-word name of 6+ letters matches its spelling variants ("Pikachoo"); Chinese / Japanese /
Arabic / Korean names of ~26 public figures and of Studio Ghibli / Miyazaki; Tony the Tiger's rewrite was itself a
paraphrase of him and got paraphrases. (7) PII: VEHICLE_PLATE (after a word naming one, or the UK format), the
Turkish T.C. kimlik number (check digits), Turkish street addresses and "adım" names, Japanese / Korean phone
numbers (and any number right after a CJK character), Japanese addresses, names and ages (私は … です, 제 이름은, 10歳);
"school noticing" is no longer a STUDENT_ID ("no" needed a word end). The head was refitted (the glossary changed its
data). Steered by holdout8 (seen): its row is optimistic — the blind measure is the round-9 row.
tests/test_moderation_round10.py checks each class on sentences written for it (15 harmful, 17 benign, 5 identity,
11 PII); of the first 39, written before the last changes, 2 failed at first (a Turkish inflection, a head-only flag
on "Tell a trusted adult and report it"), and one harmful one still fails the class it stands for: "show exactly how to
make chloroform at home" is not recognised as a harm (the mechanism needs the substance to be a known harm).

Round 11: a learned classifier (edusdk/moderation/classifier.py; moderation/README.md, "Learned classifier"):
logistic heads on MiniLM + multilingual-e5 embeddings, fitted on the bank, the sets above (holdout..holdout10 and
dev, all seen by then) and about 3,300 new training prompts (moderation/training/), thresholds by leave-one-set-out;
it replaces round 10's e5 signal, and nearest-exemplar findings need its backing. From round 11 the sets the
classifier is fitted on (`TRAINING`) show fit numbers; `BLIND` sets measure it. holdout11 and holdout12 were written
blind at the same time and measured once (the two rows above; pooled: unsafe recall 0.967, copyright 0.958, PII 0.990,
FPR safe 0.031), then trained on in round 12 with about 650 more training prompts and two mechanisms (credentials in
PII, spaced leetspeak); holdout13 and holdout14 measured round 12 blind (rows above; pooled: unsafe recall 0.972,
copyright 0.965, PII 1.000, FPR safe 0.044 — five of its seven false positives from the copyright head), then were
trained on in round 13 with the copyright threshold raised to 0.95; holdout15 and holdout16 measured round 13 blind
(pooled: unsafe recall 0.972, copyright 0.973, PII 1.000, FPR safe 0.056: holdout15's writer was asked for folk tales,
landmarks and characters among the safe prompts; of the nine safe prompts flagged, the copyright head made six — three
public-domain tales, Machu Picchu, the Great Wall, a chengyu story — the harm head two, PII one: "a caterpillar
character named Pip"), then were trained on in round 14 with about 400 prompts on public-domain stories,
landmarks and generic characters (and protected characters in the same frames); holdout17 and holdout18 measured
round 14 blind, once (rows above; pooled: unsafe recall 0.983, copyright 0.991, PII 1.000, FPR safe 0.019: every
target met on both).
"""

from __future__ import annotations

import time
from pathlib import Path

import yaml

from edusdk._resources import data_dir
from edusdk.models.moderation import ModerationReport
from edusdk.moderation.checks import moderate_texts
from edusdk.moderation.labelled import Example, load_set
from edusdk.moderation.policy import Policy

HERE = Path(__file__).resolve().parent
HOLDOUT = HERE / "holdout"
HOLDOUT2 = HERE / "holdout2"  # blind: written by someone who never saw the classifier, its data or the other sets
HOLDOUT3 = HERE / "holdout3"  # blind as well, written later; measured on round 3 and round 4, never tuned on
HOLDOUT4 = HERE / "holdout4"  # blind: measured on round 4 and round 5 code, never opened while tuning
HOLDOUT5 = HERE / "holdout5"  # blind: written by someone who never saw the code or data; measured on round 5 and 6
HOLDOUT6 = HERE / "holdout6"  # blind as well: measured on round 6 and round 7 code, never opened while tuning
HOLDOUT8 = HERE / "holdout8"  # written blind by another helper; measured once on round-9 code
HOLDOUT9 = HERE / "holdout9"  # written blind by another helper; measured once on round-10 code
HOLDOUT10 = HERE / "holdout10"  # written blind by another helper; measured once with the e5 signal
HOLDOUT11 = HERE / "holdout11"  # written blind by a helper; measured once on the round-11 learned classifier, then
# trained on (round 12)
HOLDOUT12 = HERE / "holdout12"  # written blind by another helper at the same time; measured once with holdout11
HOLDOUT13 = HERE / "holdout13"  # written blind by a helper; measured once on the round-12 classifier, then trained on
HOLDOUT14 = HERE / "holdout14"  # written blind by another helper at the same time; measured once with holdout13
HOLDOUT15 = HERE / "holdout15"  # written blind by a helper; measured once on the round-13 classifier, then trained on
HOLDOUT16 = HERE / "holdout16"  # written blind by another helper at the same time; measured once with holdout15
HOLDOUT17 = HERE / "holdout17"  # written blind by a helper; measured once on the round-14 classifier
HOLDOUT18 = HERE / "holdout18"  # written blind by another helper at the same time; measured once with holdout17
HOLDOUT7 = HERE / "holdout7"  # written blind by a helper who saw nothing of the project; measured on round 7 and 8 code
SETS = {"dev": HERE, "holdout": HOLDOUT, "holdout2": HOLDOUT2, "holdout3": HOLDOUT3, "holdout4": HOLDOUT4,
        "holdout5": HOLDOUT5, "holdout6": HOLDOUT6, "holdout7": HOLDOUT7, "holdout8": HOLDOUT8,
        "holdout9": HOLDOUT9, "holdout10": HOLDOUT10, "holdout11": HOLDOUT11, "holdout12": HOLDOUT12,
        "holdout13": HOLDOUT13, "holdout14": HOLDOUT14, "holdout15": HOLDOUT15, "holdout16": HOLDOUT16,
        "holdout17": HOLDOUT17, "holdout18": HOLDOUT18}  # fmt: skip
# The learned classifier (`edusdk.moderation.classifier`, round 11) is fitted on these sets (`train.py`): their rows
# are fit numbers from then on; the blind sets measure it.
TRAINING = ("dev", "holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6", "holdout7", "holdout8",
            "holdout9", "holdout10", "holdout11", "holdout12", "holdout13", "holdout14", "holdout15",
            "holdout16")  # fmt: skip
BLIND = ("holdout17", "holdout18")
NOT_SAFETY = {"copyright", "public_figure", "pii"}


def load_examples(directory: Path = HERE) -> list[Example]:
    """Every labelled prompt of one evaluation set (`HERE`: the dev set; `HOLDOUT`: the held-out set)."""
    return load_set(directory)


def check_disjoint() -> list[str]:
    """Eval prompts that also appear (case-insensitively) among the semantic exemplars; should be empty."""
    root = data_dir("moderation") / "semantic"
    shipped: set[str] = set()
    exemplars = yaml.safe_load((root / "exemplars.yaml").read_text(encoding="utf-8"))
    for spec in exemplars["categories"].values():
        shipped |= {str(t).casefold() for t in spec["exemplars"]}
    shipped |= {str(t).casefold() for t in exemplars.get("safe", [])}
    training = yaml.safe_load((root / "training.yaml").read_text(encoding="utf-8"))  # the harm head's sentences
    shipped |= {str(t).casefold() for key in ("harmful", "benign") for t in training.get(key) or []}
    aliases = yaml.safe_load((root / "copyright_aliases.yaml").read_text(encoding="utf-8"))
    for entry in aliases["aliases"] or []:
        shipped |= {str(t).casefold() for t in entry["paraphrases"]}
    for path in sorted((root.parent / "blocklists").glob("*.yaml")):  # the registries' own paraphrases
        registry = yaml.safe_load(path.read_text(encoding="utf-8"))
        for entries in (registry.get("categories") or {}).values():
            for entry in entries or []:
                if isinstance(entry, dict):
                    shipped |= {str(t).casefold() for t in entry.get("paraphrases", [])}
    return [e.text for d in SETS.values() for e in load_examples(d) if e.text.casefold() in shipped]


def flags(report: ModerationReport) -> set[str]:
    """Which evaluation groups a report flags: unsafe, copyright, pii."""
    out = set()
    for f in report.findings:
        if f.category in ("copyright", "public_figure"):
            out.add("copyright")
        elif f.category == "pii":
            out.add("pii")
        else:
            out.add("unsafe")
    return out


def evaluate(print_table: bool = True, directory: Path = HERE) -> dict[str, object]:
    """Run every prompt of one set under its audience's pack (batched per pack); return and print the metrics."""
    examples = load_examples(directory)
    reports: list[ModerationReport | None] = [None] * len(examples)
    started = time.perf_counter()
    for audience in sorted({e.audience for e in examples}):
        policy = Policy.load(audience)
        idx = [i for i, e in enumerate(examples) if e.audience == audience]
        for i, report in zip(idx, moderate_texts([("text", examples[i].text) for i in idx], policy), strict=True):
            reports[i] = report
    elapsed = time.perf_counter() - started
    done = [r for r in reports if r is not None]
    metrics: dict[str, object] = {"prompts": len(examples), "ms_per_prompt_batched": 1000 * elapsed / len(examples)}
    rows = []
    for group in ("unsafe", "copyright", "pii"):
        tp = sum(1 for e, r in zip(examples, done, strict=True) if e.label == group and group in flags(r))
        fn = sum(1 for e, r in zip(examples, done, strict=True) if e.label == group and group not in flags(r))
        fp = sum(1 for e, r in zip(examples, done, strict=True) if e.label != group and group in flags(r))
        negatives = sum(1 for e in examples if e.label != group)
        row = {
            "category": group, "positives": tp + fn, "recall": tp / max(tp + fn, 1),
            "precision": tp / max(tp + fp, 1), "fpr": fp / max(negatives, 1),
        }  # fmt: skip
        rows.append(row)
    for label in ("safe", "hard_benign"):
        subset = [(e, r) for e, r in zip(examples, done, strict=True) if e.label == label]
        flagged = [e.text for e, r in subset if r.decision != "allow"]
        metrics[f"fpr_{label}"] = len(flagged) / max(len(subset), 1)
        metrics[f"flagged_{label}"] = flagged
    misses = [e.text for e, r in zip(examples, done, strict=True) if e.label in ("unsafe", "copyright", "pii")
              and e.label not in flags(r)]  # fmt: skip
    metrics["per_category"] = rows
    metrics["missed"] = misses
    if print_table:
        name = "dev" if directory == HERE else directory.name
        ms = metrics["ms_per_prompt_batched"]
        print(f"moderation eval ({name} set): {len(examples)} prompts, {ms:.1f} ms/prompt (batched)")
        print(f"{'category':<12}{'n':>5}{'precision':>11}{'recall':>9}{'FPR':>8}")
        for row in rows:
            print(f"{row['category']:<12}{row['positives']:>5}{row['precision']:>11.3f}{row['recall']:>9.3f}"
                  f"{row['fpr']:>8.3f}")  # fmt: skip
        for label in ("safe", "hard_benign"):
            print(f"FPR on {label} prompts (any finding): {metrics[f'fpr_{label}']:.3f}")
            for text in metrics[f"flagged_{label}"]:  # type: ignore[attr-defined]
                print(f"   flagged: {text}")
        for text in misses:
            print(f"   missed: {text}")
    return metrics


if __name__ == "__main__":
    overlap = check_disjoint()
    if overlap:
        raise SystemExit(f"eval prompts also used as exemplars: {overlap}")
    for name, folder in SETS.items():
        print(f"== {name} set ==")
        evaluate(directory=folder)
