"""The word rule reads a difference of wording as wording: request frames, spelling, compounds,
acronyms, typos, numbers, moved phrases and noun compounds. Each relaxation is shown serving the
paraphrase it is for, and refusing the near miss of the same shape."""

from __future__ import annotations

import pytest

from agentmesh.memory.cache import similar_enough
from agentmesh.memory.verify import WordCheck
from agentmesh.memory.wording import Reader


def served(a: str, b: str) -> bool:
    """What the cache decides for two questions above the threshold: the guards, then the word rule."""
    return similar_enough(a, b, 0.99) and WordCheck(wordnet=False).refuses(a, b) is None


SERVED = {
    "request frames": ("Would you mind telling me how to reset a router to factory settings?",
                       "How do I reset a router to factory settings?"),
    "an apology as a frame": ("Sorry to bother you, but how many tablespoons are in a cup?", "How many tablespoons are in a cup?"),
    "quick one and thanks in advance as frames": ("Quick one: is tap water safe to drink in Mexico? Thanks in advance!",
                                                  "Is tap water safe to drink in Mexico?"),
    "wondering as a frame": ("Just wondering, what is the tallest mountain in Africa?", "What is the tallest mountain in Africa?"),
    "always wondered as a frame": ("I've always wondered how vaccines work.", "How do vaccines work?"),
    "anyone happening to know as a frame": ("Does anyone happen to know how old the universe is?", "How old is the universe?"),
    "a chance you know as a frame": ("Any chance you know what time the sun sets in Madrid?", "What time does the sun set in Madrid?"),
    "a greeting as a frame": ("Good morning, what's the population of Tokyo?", "What is the population of Tokyo?"),
    "a word opening the question": ("Honestly, is coffee bad for you?", "Is coffee bad for you?"),
    "a question announced by its name": ("Question: how many ounces are in a pound?", "How many ounces are in a pound?"),
    "help asked for as a frame": ("I need help: how do I change a tyre?", "How do I change a tyre?"),
    "trying to find out as a frame": ("I'm trying to find out where Machu Picchu is.", "Where is Machu Picchu?"),
    "briefly explain as a frame": ("Could you briefly explain what quantum computing is?", "What is quantum computing?"),
    "curiosity as a frame": ("I'm curious, how many students attend Harvard?", "How many students attend Harvard?"),
    "explain before a question word": ("Could you explain what a probation period is?", "What is a probation period?"),
    "British spelling": ("What is the best fertiliser for tomatoes?", "What is the best fertilizer for tomatoes?"),
    "British spelling, -mme": ("How much does a kilogramme of rice cost?", "How much does a kilogram of rice cost?"),
    "a hyphenated compound": ("Where can I buy a second-hand bike?", "Where can I buy a secondhand bike?"),
    "a compound in two words": ("How do I back up a data base?", "How do I back up a database?"),
    "an acronym": ("What is the GDP of France?", "What is the gross domestic product of France?"),
    "an acronym of word beginnings": ("How many credits is a BSc?", "How many credits is a Bachelor of Science?"),
    "a typo": ("When is the deadline for univeristy applications?", "When is the deadline for university applications?"),
    "a typo, one letter dropped": ("How much fertlizer does an acre of corn need?", "How much fertilizer does an acre of corn need?"),
    "thousands separator": ("How much is 1,000 yen in euros?", "How much is 1000 yen in euros?"),
    "k for thousand": ("What is the stamp duty on a £300k house?", "What is the stamp duty on a £300,000 house?"),
    "a number in words": ("How many calories do I burn walking five km?", "How many calories do I burn walking 5 km?"),
    "a number joined to a word": ("How much is a two-bedroom flat in Madrid?", "How much is a 2-bedroom flat in Madrid?"),
    "a unit sign": ("Is 37.5°C a fever?", "Is 37.5 degrees Celsius a fever?"),
    "a phrase moved to the front": ("In Japan, what is the legal drinking age?", "What is the legal drinking age in Japan?"),
    "a number and its word swapped": ("Which Roman emperor ruled in AD 100?", "Which Roman emperor ruled in 100 AD?"),
    "in order to": ("What do I need in order to apply for a visa?", "What do I need to apply for a visa?"),
    "what it costs to buy": ("How much does it cost to buy a car in Germany?", "What is the price of a car in Germany?"),
    "known for doing, as doing": ("What instrument was Miles Davis known for playing?", "Which instrument did Miles Davis play?"),
    "where it is located": ("Where is Timbuktu located?", "Where is Timbuktu?"),
    "how much it weighs": ("How much does an elephant weigh?", "What does an elephant weigh?"),
    "what can I do to": ("What can I do to improve my credit score?", "How can I improve my credit score?"),
    "how X differs from Y": ("How is a crocodile different from an alligator?",
                             "What is the difference between a crocodile and an alligator?"),
    "why it happens": ("Why do earthquakes happen?", "What causes earthquakes?"),
    "ever": ("Has anyone ever climbed K2 in winter?", "Has anyone climbed K2 in winter?"),
    "what are the steps to": ("What are the steps to reset my password?", "How do I reset my password?"),
    "an agent noun with its last consonant doubled": ("Who was the winner of the World Cup in 2018?", "Who won the World Cup in 2018?"),
    "how come": ("How come the sky is blue?", "Why is the sky blue?"),
    "what type of": ("What type of tree is this?", "What kind of tree is this?"),
    "short for": ("What is DNA short for?", "What does DNA stand for?"),
    "how many a thing has, as how many are in it": ("How many bones does the human body have?",
                                                     "How many bones are there in the human body?"),
    "what is done, in the passive": ("What do bees produce?", "What is produced by bees?"),
    "what is done, and a request around it": ("What do bees produce?", "Can you tell me what bees produce?"),
    "the passive": ("Which vitamin is produced by the skin in sunlight?", "Which vitamin does the skin produce in sunlight?"),
    "a stranded preposition": ("Which year did the Titanic sink in?", "In what year did the Titanic sink?"),
    "a noun compound": ("What does Grok-1 score on HumanEval?", "What is Grok-1's HumanEval score?"),
    "a year put first in a compound": ("Who won the 2010 World Cup?", "Who won the World Cup in 2010?"),
    "a tense said on one side only": ("Who won the race?", "Who was the winner of the race?"),
    "how far as the distance": ("How far is the Moon from the Earth?", "What is the distance between the Earth and the Moon?"),
    "how far, asked inside a request": ("Do you have any idea how far Mars is from Earth?", "What is the distance from Mars to Earth?"),
    "how many people live in as the population": ("How many people live in Cairo?", "What is the population of Cairo?"),
    "a birthplace as where one was born": ("Where was Frida Kahlo born?", "What was Frida Kahlo's birthplace?"),
    "a date of birth as when one was born": ("When was Mozart born?", "What was Mozart's date of birth?"),
    "how long they live as their lifespan": ("How long do tortoises live?", "What is the lifespan of a tortoise?"),
    "the best time of year to": ("What is the best time of year to prune roses?", "When should I prune roses?"),
    "define as what it means": ("Define ubiquitous.", "What does ubiquitous mean?"),
    "what I need to do to": ("What do I need to do to become a pilot?", "How do I become a pilot?"),
    "one after an article as a number": ("How much is a 1-hour massage?", "How much is a one hour massage?"),
    "a year in words": ("Who won the league in 1999?", "Who won the league in nineteen ninety-nine?"),
    "a thing and a half": ("How many seconds are in 1.5 minutes?", "How many seconds are in a minute and a half?"),
    "a fifth as a fraction": ("What is a fifth of 200?", "What is 1/5 of 200?"),
    "degrees as the scale's name": ("How do I convert °F to °C?", "How do I convert Fahrenheit to Celsius?"),
    "the 24-hour clock": ("What time is 14:00 in New York?", "What time is 2pm in New York?"),
    "a scale letter after a currency sign": ("How much is $1.5M in euros?", "How much is 1.5 million dollars in euros?"),
    "a century as its hundreds": ("Who was king of England in the 1500s?", "Who was king of England in the sixteenth century?"),
    "how a score is asked": ("How does Falcon 40B score on MMLU?", "What is the MMLU score of Falcon 40B?"),
    "what makes": ("What makes leaves change colour in autumn?", "Why do leaves change colour in autumn?"),
    "an ordinal in words": ("What was the 2nd world war about?", "What was the second world war about?"),
    "a compound ordinal": ("Who won the 21st Olympics?", "Who won the twenty-first Olympics?"),
    "a scale word after digits": ("What is 1.5 million in scientific notation?", "What is 1,500,000 in scientific notation?"),
    "a per cent sign": ("How much is 50% of 80?", "How much is 50 per cent of 80?"),
    "a time of day": ("What time is 3pm in Tokyo?", "What time is 3 p.m. in Tokyo?"),
    "a unit joined to its number": ("How many calories are in 100g of rice?", "How many calories are in 100 grams of rice?"),
    "a half": ("How much is 1/2 cup of flour in grams?", "How much is half a cup of flour in grams?"),
    "a dozen": ("How many eggs are in a dozen?", "How many eggs are in 12?"),
    "a decade in words": ("What music was popular in the nineties?", "What music was popular in the 90s?"),
    "the year before a year": ("What was the price of oil in the year 2008?", "What was the price of oil in 2008?"),
    "a decimal without its zero": ("What is .25 as a fraction?", "What is 0.25 as a fraction?"),
    "a whole number with a decimal point": ("Is 3.0 bigger than 2?", "Is three bigger than two?"),
    "how much before cost": ("How much does a kilo of beef cost in Argentina?", "What does a kilo of beef cost in Argentina?"),
    "an acronym of a possessive": ("What is the MSRP of the 2024 Toyota Corolla?",
                                   "What is the manufacturer's suggested retail price of the 2024 Toyota Corolla?"),
    "a need to know as a frame": ("I need to know how tall the Eiffel Tower is.", "How tall is the Eiffel Tower?"),
    "asking to ask as a frame": ("Can I ask how tall the Eiffel Tower is?", "How tall is the Eiffel Tower?"),
    "a question announced": ("I have a question: how tall is the Eiffel Tower?", "How tall is the Eiffel Tower?"),
    "a question phrase in place": ("Penicillin was discovered in what year?", "In what year was penicillin discovered?"),
    "an agent noun of a verb with another past": ("Who was the founder of Microsoft?", "Who founded Microsoft?"),
    "name the": ("Name the largest desert in the world.", "What is the largest desert in the world?"),
    "list the": ("List the planets of the solar system.", "What are the planets of the solar system?"),
    "is it possible to": ("Is it possible to freeze cooked rice?", "Can I freeze cooked rice?"),
    "is there a way to": ("Is there a way to recover deleted photos on an iPhone?", "How can I recover deleted photos on an iPhone?"),
    "the best way to": ("What is the best way to learn to code?", "How do I best learn to code?"),
    "the best way to, either side": ("What's the cheapest way to travel in Europe?", "What is the cheapest way to travel in Europe?"),
    "a common abbreviation": ("What is the avg rainfall in Seattle?", "What is the average rainfall in Seattle?"),
    "abbreviated units": ("How many tsp are in a tbsp?", "How many teaspoons are in a tablespoon?"),
    "lb as pound": ("How long do I bake a 2 lb loaf?", "How long do I bake a two pound loaf?"),
    "per as each": ("How much water should an adult drink per day?", "How much water should an adult drink each day?"),
    "every as each": ("Does every student get a laptop?", "Does each student get a laptop?"),
    "and a half": ("How long is one and a half hours in minutes?", "How long is 1.5 hours in minutes?"),
    "a fraction in words": ("What is a third of 90?", "What is 1/3 of 90?"),
    "twice": ("How much is twice the price?", "How much is two times the price?"),
    "a day of the month as an ordinal": ("How many days until 25 December?", "How many days until December 25th?"),
    "articles in each other's places": ("Is the museum in a park?", "Is a museum in the park?"),
    "one before a noun as a": ("How many calories are in one egg?", "How many calories are in an egg?"),
    "1 before a noun as a": ("How many calories are in 1 egg?", "How many calories are in an egg?"),
    "the two sides of and in the other order": ("What is the difference between a frog and a toad?",
                                                "What is the difference between a toad and a frog?"),
    "the two sides of and, the verb agreeing": ("Is a man and a woman dancing in the rain?",
                                                 "Are a woman and a man dancing in the rain?"),
    "a phrase with its preposition moved": ("After cooking a steak, how long do you let it rest?",
                                            "How long should I rest a steak after cooking it?"),
    "how much is, as a price": ("How much is a ticket to Rome?", "What is the price of a ticket to Rome?"),
    "how much is, as a cost": ("How much is a night at the Ritz?", "What does a night at the Ritz cost?"),
    "the best time to": ("What is the best time to visit Japan?", "When should I visit Japan?"),
    "a double letter written once": ("How do I aply for a passport?", "How do I apply for a passport?"),
    "two neighbours swapped in a short word": ("How long is the Amazon rvier?", "How long is the Amazon river?"),
    "no and not": ("Is there no way to undo a commit?", "Is there not a way to undo a commit?"),
    "no and a negated verb": ("Which countries have no army?", "Which countries don't have an army?"),
    "one as the pronoun": ("How can one apply for a visa?", "How can I apply for a visa?"),
    "any as a determiner": ("Are there any side effects of ibuprofen?", "Are there side effects of ibuprofen?"),
    "some as a determiner": ("What are some good books about Rome?", "What are good books about Rome?"),
}

REFUSED = {
    "no against never": ("Which countries have no army?", "Which countries never had an army?"),
    "no against nothing": ("Which countries have no army?", "Which countries have an army?"),
    "one of the": ("What is one of the largest lakes?", "What is the largest lake?"),
    "two real short words, neighbours swapped": ("Where does the trial start?", "Where does the trail start?"),
    "a double letter written once, both words English": ("Is the dinner ready?", "Is the diner ready?"),
    "a short unknown word, one letter changed": ("How long is the Amazon rvier?", "How long is the Amazon liver?"),
    "how much of a thing against its price": ("How much sugar is in a can of cola?", "What is the price of sugar in a can of cola?"),
    "how much it weighs against its cost": ("How much does an elephant weigh?", "What does an elephant cost?"),
    "the best time to, against can": ("What is the best time to visit Japan?", "When can I visit Japan?"),
    "the best time of day to, against the best time to": ("What is the best time of day to prune roses?",
                                                          "What is the best time to prune roses?"),
    "what it costs to rent, against its price": ("How much does it cost to rent a car in Germany?",
                                                 "What is the price of a car in Germany?"),
    "famous for a thing, against having it": ("Which region is famous for spring water?", "Which region has spring water?"),
    "where it is buried, against where it is": ("Where is Napoleon buried?", "Where is Napoleon?"),
    "how much it eats, against what it eats": ("How much does an elephant eat?", "What does an elephant eat?"),
    "how X is like Y, against their difference": ("How is a crocodile similar to an alligator?",
                                                  "What is the difference between a crocodile and an alligator?"),
    "why it stops, against its cause": ("Why do earthquakes stop?", "What causes earthquakes?"),
    "how many one has of the other, roles swapped": ("How many tablespoons does a teaspoon have?",
                                                      "How many teaspoons are in a tablespoon?"),
    "what size of, against what kind of": ("What size of tree is this?", "What kind of tree is this?"),
    "what it is good for, against what it is short for": ("What is DNA good for?", "What is DNA short for?"),
    "how many one has of the other, roles swapped, both with have": ("How many tablespoons does a teaspoon have?",
                                                                      "How many teaspoons does a tablespoon have?"),
    "how many it has, against how many are on it": ("How many stickers does the box have?", "How many stickers are on the box?"),
    "another agent noun": ("Who was the loser of the World Cup in 2018?", "Who won the World Cup in 2018?"),
    "one against two": ("How many calories are in one egg?", "How many calories are in two eggs?"),
    "a number ending in one": ("How many calories are in twenty-one eggs?", "How many calories are in twenty eggs?"),
    "roles swapped around and": ("Is a frog bigger than a toad and a newt?", "Is a toad bigger than a frog and a newt?"),
    "places swapped between prepositions": ("Are flights from Paris to Rome cheap?", "Are flights from Rome to Paris cheap?"),
    "all against some": ("Do all birds migrate?", "Do some birds migrate?"),
    "a quick question's words that are no frame": ("Is a quick one-pot meal healthy?", "Is a one-pot meal healthy?"),
    "wonder as a word": ("What is a wonder drug?", "What is a drug?"),
    "do you know after a question word": ("Who do you know in Paris?", "Who is in Paris?"),
    "a frame that is not one": ("Would you mind if I smoke here?", "Can I smoke here?"),
    "explain with no question word": ("Explain photosynthesis", "What is photosynthesis?"),
    "another compound": ("Where is the data center?", "Where is the database?"),
    "another acronym": ("What is the GNP of France?", "What is the gross domestic product of France?"),
    "an acronym of other words": ("What is the GDP of France?", "What is the gross national product of France?"),
    "two real words one letter apart": ("What is the capital of Canada?", "What is the capitol of Canada?"),
    "two real words one letter apart, 2": ("What is the best dessert in Morocco?", "What is the best desert in Morocco?"),
    "a short word one letter off": ("How long is the river?", "How long is the rover?"),
    "another number after k": ("What is the stamp duty on a £300k house?", "What is the stamp duty on a £30,000 house?"),
    "another number joined to a word": ("How much is a 2-bedroom flat in Madrid?", "How much is a 3-bedroom flat in Madrid?"),
    "roles swapped in place": ("Does the dog bite the man?", "Does the man bite the dog?"),
    "roles swapped around a word": ("How many dollars is one euro worth?", "How many euros is one dollar worth?"),
    "roles swapped, inflected": ("How many US dollars is one euro worth?", "How many euros is one US dollar worth?"),
    "what does it against what it is done to": ("What do bees eat?", "What eats bees?"),
    "what does it against what it is done to, 2": ("What feeds the lake?", "What does the lake feed?"),
    "subject and object of who": ("Who does the CFO report to at Siemens?", "Who reports to the CFO at Siemens?"),
    "a preposition that is the question": ("What is in a Caesar salad?", "What is a Caesar salad?"),
    "a preposition replaced": ("What are the taxes on imports?", "What are the taxes from imports?"),
    "another ordinal": ("Who won the 21st Olympics?", "Who won the twenty-second Olympics?"),
    "another ordinal in words": ("What happened in the first half of the season?", "What happened in the second half of the season?"),
    "another scale": ("What is 1.5 million in scientific notation?", "What is 15 million in scientific notation?"),
    "a per cent sign dropped": ("How much is 50% of 80?", "How much is 50 of 80?"),
    "another time of day": ("What time is 3pm in Tokyo?", "What time is 3 a.m. in Tokyo?"),
    "another unit joined to its number": ("How many calories are in 100g of rice?", "How many calories are in 100kg of rice?"),
    "another fraction": ("How much is 1/2 cup of flour in grams?", "How much is 1/3 cup of flour in grams?"),
    "another decade": ("What music was popular in the nineties?", "What music was popular in the eighties?"),
    "a decade and a century's decade": ("What music was popular in the 90s?", "What music was popular in the 1990s?"),
    "how much of a thing before cost": ("How much beef does a cow cost?", "What beef does a cow cost?"),
    "how much without cost": ("How much is a kilo of beef in Argentina?", "What is a kilo of beef in Argentina?"),
    "a need with no question after it": ("I need to know the rules.", "What are the rules?"),
    "roles swapped around a question phrase in place": ("The dog bit which man?", "Which man bit the dog?"),
    "about is no filler": ("Who wrote about Hamlet?", "Who wrote Hamlet?"),
    "an agent noun of another verb": ("Who was the founder of Microsoft?", "Who funded Microsoft?"),
    "name the, another superlative": ("Name the largest desert in the world.", "What is the smallest desert in the world?"),
    "is it possible to, against should": ("Is it possible to freeze cooked rice?", "Should I freeze cooked rice?"),
    "is there a way to, against a yes/no question": ("Is there a way to recover deleted photos on an iPhone?",
                                                     "Can I recover deleted photos on an iPhone?"),
    "the cheapest way to, against how": ("What is the cheapest way to fly to Rome?", "How do I fly to Rome?"),
    "a name asked": ("What name did the band choose?", "What did the band choose?"),
    "an abbreviation of another word": ("What is the avg rainfall in Seattle?", "What is the total rainfall in Seattle?"),
    "abbreviated units swapped": ("How many tsp are in a tbsp?", "How many tablespoons are in a teaspoon?"),
    "a pound of weight against a pound sterling": ("What does 5 lb of beef cost?", "What does £5 of beef cost?"),
    "each against all of them together": ("How much does each ticket cost?", "How much do the tickets cost?"),
    "a year of another noun": ("Which team won the World Cup in 2010?", "Which 2010 team won the World Cup?"),
    "how far against how long": ("How far is the Moon from the Earth?", "How long is the trip between the Earth and the Moon?"),
    "how many people work in, against the population": ("How many people work in Cairo?", "What is the population of Cairo?"),
    "a birthplace against where one died": ("Where did Frida Kahlo die?", "What was Frida Kahlo's birthplace?"),
    "how long they sleep against their lifespan": ("How long do tortoises sleep?", "What is the lifespan of a tortoise?"),
    "define against what it does": ("Define photosynthesis.", "What does photosynthesis produce?"),
    "present against past": ("Who is the mayor of Chicago?", "Who was the mayor of Chicago?"),
    "present against past, does and did": ("Where does the river flood?", "Where did the river flood?"),
    "another year in words": ("Who won the league in 1999?", "Who won the league in nineteen eighty-nine?"),
    "a thing without its half": ("How many seconds are in 1.5 minutes?", "How many seconds are in a minute?"),
    "another fraction in words, fifths": ("What is a fifth of 200?", "What is a sixth of 200?"),
    "one scale against the other": ("How do I convert °F to °C?", "How do I convert Celsius to Fahrenheit?"),
    "another hour on the 24-hour clock": ("What time is 14:00 in New York?", "What time is 4pm in New York?"),
    "another scale letter after a currency sign": ("How much is $1.5M in euros?", "How much is 1.5 billion dollars in euros?"),
    "another century": ("Who was king of England in the 1500s?", "Who was king of England in the fifteenth century?"),
    "and a half dropped": ("How long is one and a half hours in minutes?", "How long is one hour in minutes?"),
    "another fraction in words": ("What is a third of 90?", "What is a quarter of 90?"),
    "twice against three times": ("How much is twice the price?", "How much is three times the price?"),
    "another day of the month": ("How many days until 25 December?", "How many days until December 26th?"),
}


@pytest.mark.parametrize("kind", SERVED)
def test_a_difference_of_wording_is_served(kind):
    a, b = SERVED[kind]
    assert served(a, b) and served(b, a), kind


@pytest.mark.parametrize("kind", REFUSED)
def test_a_near_miss_of_the_same_shape_is_refused(kind):
    a, b = REFUSED[kind]
    assert not served(a, b) and not served(b, a), kind


def test_the_example_lexicon_says_what_its_data_cannot(tmp_path):
    from pathlib import Path

    from agentmesh.memory.verify import Lexicon

    lexicon = Lexicon.load(Path(__file__).resolve().parent.parent / "examples" / "llm-landscape" / "cache_lexicon.toml")
    check = WordCheck(lexicon, wordnet=False)
    for a, b in [("Which company makes Grok-1?", "Who develops Grok-1?"), ("Who built Phi-2?", "Who is the developer of Phi-2?"),
                 ("How long is the context window of GPT-4o?", "What is the context window of GPT-4o?"),
                 ("How well does Gemma do on HumanEval?", "What is the HumanEval score of Gemma?")]:
        assert check.refuses(a, b) is None, (a, b)
    assert check.refuses("Which company makes Grok-1?", "Which company hosts Grok-1?")
    assert check.refuses("How well does Gemma do on HumanEval?", "What is the MMLU score of Gemma?")


def test_wordnet_matches_a_shared_sense_only_in_the_main_part_of_speech_of_one_word():
    reader = Reader()
    if reader.wordnet is None:
        pytest.skip("WordNet's data is not installed (apt-get install wordnet-base)")
    check = WordCheck()
    assert check.refuses("Who buys the house?", "Who purchases the house?") is None  # "buy" is mostly a verb
    # "mother" and "father" share only the verb sense "to beget": both are mostly nouns
    assert check.refuses("What was Mozart's mother's name?", "What was Mozart's father's name?")
    assert check.refuses("Can a son inherit colour blindness from his mother?", "Can a son inherit colour blindness from his father?")


def test_a_stored_question_is_read_when_it_is_stored(tmp_path, minilm):
    from agentmesh.memory.cache import SemanticCache

    cache = SemanticCache(tmp_path / "c", minilm, ttl=None)
    check = next(c for c in cache.checks if isinstance(c, WordCheck))
    cache.put("What is the GDP of France?", "an answer", scope="s")
    assert "What is the GDP of France?" in check.read._memo
    cache.close()


def test_a_greeting_is_a_frame_only_as_a_whole_word():
    read = Reader(wordnet=False)
    assert read("Hi, what is the highest mountain in history?").words == ("highest", "mountain", "in", "history", "?present")
    assert read("Show me the menu settings").words == ("menu", "settings")


def test_readings_share_the_keys_of_a_word_they_both_say():
    """A reading is kept per stored question: the keys of a word are one object in all of them, not a copy each."""
    read = Reader(wordnet=False)
    a, b = read("What is 5 plus 3?"), read("What is 7 plus 2?")
    assert a.keys[a.words.index("plus")] is b.keys[b.words.index("plus")]
    a, b = read("Where is the river Douro?"), read("Where does the river Douro rise?")  # and with the compound it joins
    assert a.keys[a.words.index("river")] is b.keys[b.words.index("river")]
