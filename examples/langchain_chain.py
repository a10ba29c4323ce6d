"""LangChain: an LCEL chain (prompt | ChatModelsLab | parser), invoked and streamed."""

from __future__ import annotations

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from examples._runtime import replaying, target
from langchain_modelslab import ChatModelsLab

MODEL = "google-gemma-3-1b-it"


def main() -> None:
    where = target()
    print(where.describe())
    llm = ChatModelsLab(model=MODEL, temperature=0, max_tokens=80, **where.langchain_kwargs())
    prompt = ChatPromptTemplate.from_messages(
        [("system", "You answer in one short sentence."), ("human", "Tell me about {topic}.")]
    )
    chain = prompt | llm | StrOutputParser()
    with replaying("langchain_chain", where):
        print("invoke:", chain.invoke({"topic": "the sea"}).strip())
        print("stream: ", end="", flush=True)
        for piece in chain.stream({"topic": "the moon"}):
            print(piece, end="", flush=True)
        print()
        reply = llm.invoke("Say hello in French.")
        print("usage:", reply.usage_metadata)


if __name__ == "__main__":
    main()
