"""Worked examples that show a small model each task as a pattern to complete.

A 135M model follows ``Label: text`` patterns far better than instructions, so every task
except continue is a plain completion: two short examples, then the writer's text under the
same label and the answer label left open. The examples come first and never change, so the
prompt cache can keep their computation once per task. They are original text written for
Draftsmith; the answer check rejects answers that copy them."""

from __future__ import annotations

from dataclasses import dataclass

from inference.runtime.tasks import Task


@dataclass(frozen=True)
class Pattern:
    """How one task is shown: the labels and the worked examples (input, answer)."""

    source_label: str
    answer_label: str
    examples: tuple[tuple[str, str], ...]

    def texts(self) -> tuple[str, ...]:
        """Every example text (what an answer must not copy)."""
        return tuple(text for pair in self.examples for text in pair)


PATTERNS: dict[Task, Pattern] = {
    Task.SHORTEN: Pattern(
        "Long",
        "Short",
        (
            (
                "The bakery on Fenn Street opened at six every morning, and by half past "
                "the queue of builders and nurses already reached the corner, all of them "
                "waiting patiently for the cardamom buns that Ilse Brandt baked in small "
                "batches.",
                "By half past six, builders and nurses queued to the corner of Fenn Street "
                "for Ilse Brandt's cardamom buns.",
            ),
            (
                "We have reviewed the quarterly figures in some detail and, after a long "
                "discussion, we have come to the conclusion that the launch should be moved "
                "from March to May so that the support team has enough time to prepare.",
                "We will move the launch from March to May to give support time to prepare.",
            ),
        ),
    ),
    Task.SUMMARIZE: Pattern(
        "Text",
        "Summary",
        (
            (
                "Tomas had promised his sister he would fix the boat before the summer. He "
                "sanded the hull for three weekends, ran out of paint twice and finally "
                "launched it on the last day of June, when the lake was already crowded.",
                "Tomas fixed the boat as promised, but only at the end of June.",
            ),
            (
                "The new booking system cuts the time staff spend on the phone. Customers "
                "choose their own slots online, reminders go out by text, and missed "
                "appointments fell by a third in the first month.",
                "Online booking saves staff time and cut missed appointments by a third.",
            ),
        ),
    ),
    Task.EXPAND: Pattern(
        "Brief",
        "Detailed",
        (
            (
                "Odile locked the shop and walked home in the rain.",
                "Odile turned the key twice in the old lock of the shop, pulled her collar "
                "up and stepped into the rain. The street lamps made long yellow streaks on "
                "the wet cobbles, and by the time she reached her door her shoes were soaked "
                "through.",
            ),
            (
                "The update makes exports faster.",
                "The update makes exports faster: a large project that used to take a "
                "minute to export now finishes in about ten seconds, because files are "
                "written in parallel and images are no longer converted twice.",
            ),
        ),
    ),
    Task.REWRITE: Pattern(
        "Draft",
        "Polished",
        (
            (
                "Pieter was tired, he was really very tired, and the train was late again "
                "which made him more tired. He stood on the platform at Zwolle. The rain it "
                "was coming sideways and his umbrella was broken since Monday.",
                "Pieter was exhausted, and the train was late again, which only made it "
                "worse. He stood on the platform at Zwolle while the rain came sideways, and "
                "his umbrella had been broken since Monday.",
            ),
            (
                "The meeting it is moved to Thursday because of the room is not free. Please "
                "bring the budget, also bring the draft contract from Hanna if you have it, "
                "we need to look at both of them.",
                "The meeting has moved to Thursday because the room is not free. Please bring "
                "the budget and, if you have it, Hanna's draft contract: we need to look at "
                "both.",
            ),
        ),
    ),
    Task.DESCRIBE: Pattern(
        "Subject",
        "Description",
        (
            (
                "an old greenhouse",
                "The old greenhouse lets in thin blades of light through its cracked panes. "
                "The air smells of damp soil and tomato leaves, and a tap drips steadily into "
                "a tin bucket by the door.",
            ),
            (
                "Jonas waited for the last bus in the rain.",
                "Jonas stood under the broken shelter with his hood up, watching the rain "
                "bounce off the road. The timetable was too faded to read, and every pair of "
                "headlights that came round the corner belonged to a car.",
            ),
        ),
    ),
    Task.BRAINSTORM: Pattern(
        "Story",
        "Ideas",
        (
            (
                "Ravi finds a key in his late uncle's coat that fits no door in the house.",
                "1. Ravi tries the key in every lock in the village.\n"
                "2. A stranger offers to buy the coat.\n"
                "3. The key opens a locker at the old railway station.\n"
                "4. Ravi's mother admits she knows what it opens.",
            ),
        ),
    ),
}

# Tone name -> (its label, one example of a plain sentence turned into that tone).
_TONE_PLAIN = (
    "The delivery will be late because the van broke down near Lisbon. The driver is "
    "waiting for a mechanic, and the boxes will arrive on Friday."
)
TONE_EXAMPLES: dict[str, tuple[str, str]] = {
    "formal": (
        "Formal",
        "We regret to inform you that the delivery will be delayed, as the vehicle broke "
        "down near Lisbon. The driver awaits a mechanic, and the goods will arrive on Friday.",
    ),
    "casual": (
        "Casual",
        "Bad news, the van broke down near Lisbon, so the delivery's late. The driver's "
        "waiting on a mechanic, and the boxes should turn up Friday.",
    ),
    "friendly": (
        "Friendly",
        "Sorry, the van broke down near Lisbon, so your delivery will be a little late! The "
        "driver is waiting for a mechanic, and your boxes will be with you on Friday.",
    ),
    "confident": (
        "Confident",
        "The van broke down near Lisbon, so the delivery will be late. A mechanic is on the "
        "way, and the boxes will arrive on Friday.",
    ),
    "vivid": (
        "Vivid",
        "The van coughed, shuddered and died on the road outside Lisbon. The driver is "
        "pacing beside it, waiting for a mechanic, and the boxes will arrive on Friday.",
    ),
    "humorous": (
        "Humorous",
        "The van decided to retire near Lisbon, so the delivery is taking the scenic route. "
        "The driver is waiting for a mechanic, and the boxes should arrive on Friday.",
    ),
    "neutral": (
        "Neutral",
        "The delivery is delayed because the van broke down near Lisbon. The driver is "
        "waiting for a mechanic, and the boxes will arrive on Friday.",
    ),
}


def tone_pattern(tone: str) -> Pattern:
    label, example = TONE_EXAMPLES[tone]
    return Pattern("Original", label, ((_TONE_PLAIN, example),))


def pattern_for(task: Task, tone: str | None = None) -> Pattern:
    if task is Task.CHANGE_TONE:
        return tone_pattern(tone or "neutral")
    return PATTERNS[task]


def all_example_texts() -> tuple[str, ...]:
    """Every worked example of every task and tone."""
    texts: list[str] = []
    for pattern in PATTERNS.values():
        texts.extend(pattern.texts())
    texts.append(_TONE_PLAIN)
    texts.extend(example for _, example in TONE_EXAMPLES.values())
    return tuple(texts)
