"""Write cache_pairs_tuning.json: more tuning pairs for the cache's word rule, all on the dev side.

Written by hand in round 4 (issue 35), in two batches (the second after the first was tuned on), after the general pairs' dev half had been tuned on until it held
few failures of some kinds (abbreviation, number-form, voice, wrapper all served on dev), so that tuning
had new material without ever reading the held-out half. Many fields, many kinds of difference, both
paraphrases (same=true) and near misses (same=false); every pair is "dev": it is never scored as held-out.
Each pair is {"a", "b", "same", "kind", "split", "field"} as in cache_pairs_general.json.

    python bench/data/build_cache_pairs_tuning.py
"""

from __future__ import annotations

import json
from pathlib import Path

OUT = Path(__file__).resolve().parent / "cache_pairs_tuning.json"

PARAPHRASES = [
    # abbreviation
    ("abbreviation", "medicine", "What is a normal BMI for an adult?", "What is a normal body mass index for an adult?"),
    ("abbreviation", "software", "How do I clear the DNS cache on Windows?", "How do I clear the domain name system cache on Windows?"),
    ("abbreviation", "travel", "How long is a flight from LA to NYC?", "How long is a flight from Los Angeles to New York City?"),
    ("abbreviation", "finance", "What is the ETF expense ratio of VTI?", "What is the exchange-traded fund expense ratio of VTI?"),
    ("abbreviation", "science", "What does DNA stand for?", "What does deoxyribonucleic acid stand for?"),
    ("abbreviation", "cooking", "How many tbsp are in a cup?", "How many tablespoons are in a cup?"),
    ("abbreviation", "work", "How many hrs a week is full-time in France?", "How many hours a week is full-time in France?"),
    # number-form
    ("number-form", "cooking", "How long do I bake a 2 lb loaf?", "How long do I bake a two pound loaf?"),
    ("number-form", "history", "What happened in the 19th century in Japan?", "What happened in the nineteenth century in Japan?"),
    ("number-form", "finance", "What is 15% of 80?", "What is fifteen percent of eighty?"),
    ("number-form", "sports", "Who won the 2010 World Cup?", "Who won the World Cup in 2010?"),
    ("number-form", "health", "How many calories are in 100 grams of rice?", "How many calories are in 100g of rice?"),
    ("number-form", "transport", "Does the 7:30 train stop at Reading?", "Does the 7.30 train stop at Reading?"),
    # voice
    ("voice", "literature", "Who wrote Don Quixote?", "By whom was Don Quixote written?"),
    ("voice", "science", "Who discovered radium?", "Radium was discovered by whom?"),
    ("voice", "architecture", "Who designed the Sydney Opera House?", "The Sydney Opera House was designed by whom?"),
    ("voice", "history", "When did the Romans build Hadrian's Wall?", "When was Hadrian's Wall built by the Romans?"),
    ("voice", "music", "Who composed the Four Seasons?", "Who was the Four Seasons composed by?"),
    # wrapper
    ("wrapper", "geography", "What is the capital of Peru?", "Quick question: what is the capital of Peru?"),
    ("wrapper", "cooking", "How long should I boil an egg?", "Could you tell me how long I should boil an egg?"),
    ("wrapper", "software", "How do I rename a branch in git?", "Hi, how do I rename a branch in git?"),
    ("wrapper", "health", "What causes hiccups?", "I was wondering, what causes hiccups?"),
    ("wrapper", "science", "Why is the sky blue?", "Can you explain why the sky is blue?"),
    ("wrapper", "travel", "Do I need a visa for Vietnam?", "Do you know if I need a visa for Vietnam?"),
    # synonym
    ("synonym", "cars", "How often should I change my car's motor oil?", "How often should I change my automobile's motor oil?"),
    ("synonym", "home", "How do I fix a dripping faucet?", "How do I repair a dripping tap?"),
    ("synonym", "travel", "What is the cheapest way to travel across Europe?", "What is the least expensive way to travel across Europe?"),
    ("synonym", "health", "How can I stop snoring?", "How can I quit snoring?"),
    ("synonym", "pets", "How big does a Maine Coon cat get?", "How large does a Maine Coon cat get?"),
    ("synonym", "history", "Why did the Roman Empire fall?", "Why did the Roman Empire collapse?"),
    ("synonym", "law", "How do I get a divorce in Ireland?", "How do I obtain a divorce in Ireland?"),
    # adjective and the noun it pertains to
    ("pertainym", "astronomy", "How hot is the lunar surface?", "How hot is the surface of the moon?"),
    ("pertainym", "geography", "What is the Chinese population?", "What is the population of China?"),
    ("pertainym", "economy", "What was the Brazilian inflation rate in 2020?", "What was the inflation rate of Brazil in 2020?"),
    ("pertainym", "medicine", "What does a cardiac arrest feel like?", "What does a heart arrest feel like?"),
    # rephrase
    ("rephrase", "geography", "How tall is Mount Kilimanjaro?", "What is the height of Mount Kilimanjaro?"),
    ("rephrase", "biology", "How long do tortoises live?", "What is the lifespan of a tortoise?"),
    ("rephrase", "history", "When was the Eiffel Tower built?", "In what year was the Eiffel Tower built?"),
    ("rephrase", "cooking", "What temperature should I roast a chicken at?", "At what temperature should I roast a chicken?"),
    ("rephrase", "geography", "How deep is Lake Baikal?", "What is the depth of Lake Baikal?"),
    # mixed
    ("mixed", "software", "How do I delete a local branch in git?", "What's the way to remove a local git branch?"),
    ("mixed", "health", "How much water should an adult drink per day?", "How much water should adults drink each day?"),
    ("mixed", "travel", "Which airlines fly from Lisbon to Boston?", "What airlines fly Lisbon to Boston?"),
    # a second batch, written after the first was tuned on: more abbreviations, number forms, voices and wrappers
    ("abbreviation", "tech", "How much RAM does a laptop need for video editing?", "How much random access memory does a laptop need for video editing?"),
    ("abbreviation", "medicine", "What is a normal resting HR?", "What is a normal resting heart rate?"),
    ("abbreviation", "geography", "What is the capital of the UAE?", "What is the capital of the United Arab Emirates?"),
    ("abbreviation", "cooking", "How many oz are in a cup of flour?", "How many ounces are in a cup of flour?"),
    ("abbreviation", "work", "What does a CFO do?", "What does a chief financial officer do?"),
    ("abbreviation", "science", "What is the pH of vinegar?", "What is the pH value of vinegar?"),
    ("abbreviation", "travel", "How do I get from JFK to Manhattan?", "How do I get from JFK airport to Manhattan?"),
    ("abbreviation", "education", "How long does a PhD take in Germany?", "How long does a doctorate take in Germany?"),
    ("abbreviation", "sports", "Who has the most NBA titles?", "Who has the most National Basketball Association titles?"),
    ("abbreviation", "cars", "What is the top speed in mph of a Tesla Model 3?", "What is the top speed in miles per hour of a Tesla Model 3?"),
    ("abbreviation", "calendar", "What day is Feb 29 in 2028?", "What day is February 29 in 2028?"),
    ("abbreviation", "finance", "What is the VAT rate in Italy?", "What is the value added tax rate in Italy?"),
    ("number-form", "finance", "How much is $1.5M in euros?", "How much is 1.5 million dollars in euros?"),
    ("number-form", "health", "How many steps are in 5 kilometres?", "How many steps are in five km?"),
    ("number-form", "history", "What happened on July 4, 1776?", "What happened on 4 July 1776?"),
    ("number-form", "cooking", "How many grams is a quarter cup of sugar?", "How many grams is 1/4 cup of sugar?"),
    ("number-form", "sports", "Who won the 100m sprint in 2008?", "Who won the 100 metre sprint in 2008?"),
    ("number-form", "math", "What is 2 to the power of 10?", "What is two to the power of ten?"),
    ("number-form", "travel", "What time is 14:00 in New York?", "What time is 2pm in New York?"),
    ("number-form", "history", "Who was king of England in the 1500s?", "Who was king of England in the sixteenth century?"),
    ("number-form", "science", "What is 0.5 of a litre in millilitres?", "What is half a litre in millilitres?"),
    ("number-form", "finance", "What is 10 per cent of 250?", "What is ten percent of 250?"),
    ("number-form", "sports", "How many players are on a team in 5-a-side football?", "How many players are on a team in five-a-side football?"),
    ("voice", "history", "Who assassinated Julius Caesar?", "By whom was Julius Caesar assassinated?"),
    ("voice", "art", "Who painted the Mona Lisa?", "Who was the Mona Lisa painted by?"),
    ("voice", "science", "Who invented the telephone?", "The telephone was invented by whom?"),
    ("voice", "business", "Which company bought Instagram?", "Instagram was bought by which company?"),
    ("voice", "biology", "What do bees produce?", "What is produced by bees?"),
    ("voice", "history", "When did the Allies liberate Paris?", "When was Paris liberated by the Allies?"),
    ("voice", "geography", "Which rivers feed Lake Victoria?", "Lake Victoria is fed by which rivers?"),
    ("wrapper", "health", "Is ibuprofen safe during pregnancy?", "Hey, is ibuprofen safe during pregnancy?"),
    ("wrapper", "software", "How do I undo a git rebase?", "Can someone tell me how to undo a git rebase?"),
    ("wrapper", "geography", "What is the longest river in Africa?", "I'd like to know what the longest river in Africa is."),
    ("wrapper", "cooking", "How long does rice take to cook?", "Please tell me how long rice takes to cook."),
    ("wrapper", "travel", "Is tap water safe to drink in Mexico?", "Quick one: is tap water safe to drink in Mexico?"),
    ("wrapper", "science", "What is the speed of light?", "Does anybody know what the speed of light is?"),
    ("wrapper", "finance", "What is a Roth IRA?", "Could you please explain what a Roth IRA is?"),
    ("wrapper", "history", "When did the Berlin Wall fall?", "Thanks in advance - when did the Berlin Wall fall?"),
]

NEAR_MISSES = [
    ("pertainym", "astronomy", "How hot is the lunar surface?", "How hot is the solar surface?"),
    ("pertainym", "geography", "What is the Chinese population?", "What is the Japanese population?"),
    ("pertainym", "geography", "How cold are northern winters in Sweden?", "How cold are southern winters in Sweden?"),
    ("pertainym", "medicine", "What does a cardiac arrest feel like?", "What does a respiratory arrest feel like?"),
    ("pertainym", "economy", "What was the Brazilian inflation rate in 2020?", "What was the Argentine inflation rate in 2020?"),
    ("voice", "literature", "Who did Romeo kill?", "Who killed Romeo?"),
    ("voice", "sports", "Which team did Chelsea beat in the final?", "Which team beat Chelsea in the final?"),
    ("voice", "law", "Who sued Apple in 2019?", "Who was sued by Apple in 2019?"),
    ("number-form", "cooking", "How long do I bake a 2 lb loaf?", "How long do I bake a 3 lb loaf?"),
    ("number-form", "history", "What happened in the 19th century in Japan?", "What happened in the 18th century in Japan?"),
    ("number-form", "sports", "Who won the 2010 World Cup?", "Who won the 2014 World Cup?"),
    ("abbreviation", "medicine", "What is a normal BMI for an adult?", "What is a normal BMR for an adult?"),
    ("abbreviation", "travel", "How long is a flight from LA to NYC?", "How long is a flight from LA to SF?"),
    ("synonym-trap", "home", "How do I fix a dripping faucet?", "How do I fix a dripping shower head?"),
    ("synonym-trap", "pets", "How big does a Maine Coon cat get?", "How old does a Maine Coon cat get?"),
    ("synonym-trap", "health", "How can I stop snoring?", "How can I start running?"),
    ("hyponym", "pets", "What do kittens eat?", "What do cats eat?"),
    ("hyponym", "cars", "How often should I service a truck?", "How often should I service a vehicle?"),
    ("hyponym", "cooking", "How do I slice an onion?", "How do I dice an onion?"),
    ("co-hyponym", "calendar", "Is the museum open on Monday?", "Is the museum open on Friday?"),
    ("co-hyponym", "family", "What is my uncle's son to me?", "What is my aunt's son to me?"),
    ("co-hyponym", "music", "How many strings does a violin have?", "How many strings does a cello have?"),
    ("co-hyponym", "units", "How many inches are in a yard?", "How many feet are in a yard?"),
    ("direction", "travel", "How long is the drive from Madrid to Seville?", "How long is the drive from Madrid to Valencia?"),
    ("rephrase-trap", "geography", "How tall is Mount Kilimanjaro?", "How old is Mount Kilimanjaro?"),
    ("rephrase-trap", "biology", "How long do tortoises live?", "How long do tortoises sleep?"),
    ("wrapper-trap", "software", "How do I rename a branch in git?", "Why would I rename a branch in git?"),
    ("mixed-trap", "health", "How much water should an adult drink per day?", "How much water should a child drink per day?"),
    ("abbreviation", "medicine", "What is a normal resting HR?", "What is a normal resting BP?"),
    ("abbreviation", "work", "What does a CFO do?", "What does a chief operating officer do?"),
    ("abbreviation", "cars", "What is the top speed in mph of a Tesla Model 3?", "What is the top speed in km/h of a Tesla Model 3?"),
    ("number-form", "finance", "How much is $1.5M in euros?", "How much is 1.5 billion dollars in euros?"),
    ("number-form", "history", "What happened on July 4, 1776?", "What happened on 4 August 1776?"),
    ("number-form", "travel", "What time is 14:00 in New York?", "What time is 4pm in New York?"),
    ("number-form", "history", "Who was king of England in the 1500s?", "Who was king of England in the fifteenth century?"),
    ("voice", "history", "Who assassinated Julius Caesar?", "Who was assassinated by Julius Caesar?"),
    ("voice", "business", "Which company bought Instagram?", "Which company was bought by Instagram?"),
    ("voice", "biology", "What do bees eat?", "What eats bees?"),
    ("wrapper-trap", "health", "Is ibuprofen safe during pregnancy?", "Why is ibuprofen safe during pregnancy?"),
    ("wrapper-trap", "cooking", "How long does rice take to cook?", "Tell me how long rice takes to cool."),
]


def pairs() -> list[dict]:
    return ([{"a": a, "b": b, "same": True, "kind": k, "split": "dev", "field": f} for k, f, a, b in PARAPHRASES]
            + [{"a": a, "b": b, "same": False, "kind": k, "split": "dev", "field": f} for k, f, a, b in NEAR_MISSES])


if __name__ == "__main__":
    rows = pairs()
    OUT.write_text(json.dumps(rows, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{OUT.name}: {sum(r['same'] for r in rows)} paraphrases, {sum(not r['same'] for r in rows)} near misses")
