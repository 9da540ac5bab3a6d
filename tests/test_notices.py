"""WhatsApp's notices and placeholders in every supported language, attributed to a sender (as
iOS does) with or without the U+200E mark, are recognised; ordinary text is not."""

import pytest

from chatclone.data.importers import notices
from chatclone.data.importers.notices import classify

SYSTEM = {
    "en": [
        "Messages and calls are end-to-end encrypted. No one outside of this chat, not even "
        "WhatsApp, can read or listen to them. Tap to learn more.",
        "Messages to this group are now secured with end-to-end encryption. Tap for more info.",
        "Dana created group “Hiking Club”",
        "Dana added Owen",
        "Owen left",
        'Dana changed the subject from "Hiking" to "Hiking Club"',
        "Dana changed this group's icon",
        "Mei joined using this group's invite link",
        "Your security code with Owen changed. Tap to learn more.",
        "Missed voice call",
        "Missed video call",
    ],
    "de": [
        "Nachrichten und Anrufe sind Ende-zu-Ende-verschlüsselt. Niemand außerhalb dieses Chats "
        "kann sie lesen oder anhören, nicht einmal WhatsApp. Tippe, um mehr zu erfahren.",
        "Dana hat die Gruppe „Wandern“ erstellt",
        "Dana hat Owen hinzugefügt",
        "Owen hat die Gruppe verlassen",
        "Dana hat den Betreff von „A“ zu „B“ geändert",
        "Dana hat das Gruppenbild geändert",
        "Deine Sicherheitsnummer für Owen hat sich geändert.",
        "Verpasster Sprachanruf",
    ],
    "fr": [
        "Les messages et les appels sont chiffrés de bout en bout. Appuyez pour en savoir plus.",
        "Dana a créé le groupe « Randonnée »",
        "Dana a ajouté Owen",
        "Owen est parti",
        "Dana a modifié le sujet de « A » en « B »",
        "Dana a changé l'icône de ce groupe",
        "Votre code de sécurité avec Owen a changé.",
        "Appel vocal manqué",
    ],
    "es": [
        "Los mensajes y las llamadas están cifrados de extremo a extremo.",
        "Dana creó el grupo “Senderismo”",
        "Dana añadió a Owen",
        "Owen salió del grupo",
        "Dana cambió el asunto de “A” a “B”",
        "Dana cambió el ícono de este grupo",
        "Tu código de seguridad con Owen cambió.",
        "Llamada de voz perdida",
    ],
    "it": [
        "I messaggi e le chiamate sono crittografati end-to-end.",
        "Dana ha creato il gruppo “Escursioni”",
        "Dana ha aggiunto Owen",
        "Owen è uscito",
        "Dana ha cambiato l'oggetto da “A” a “B”",
        "Dana ha cambiato l'immagine di questo gruppo",
        "Il tuo codice di sicurezza con Owen è cambiato.",
        "Chiamata vocale persa",
    ],
    "pt": [
        "As mensagens e as chamadas são protegidas com a criptografia de ponta a ponta.",
        "Dana criou o grupo “Trilhas”",
        "Dana adicionou Owen",
        "Owen saiu",
        "Dana mudou o assunto de “A” para “B”",
        "Dana mudou a imagem deste grupo",
        "Seu código de segurança com Owen mudou.",
        "Chamada de voz perdida",
    ],
    "nl": [
        "Berichten en oproepen worden end-to-end versleuteld.",
        "Dana heeft groep “Wandelen” aangemaakt",
        "Dana heeft Owen toegevoegd",
        "Owen is vertrokken",
        "Dana heeft het onderwerp gewijzigd van “A” naar “B”",
        "Je beveiligingscode met Owen is gewijzigd.",
        "Gemiste spraakoproep",
    ],
    "fi": [
        "Viestit ja puhelut ovat päästä päähän salattuja.",
        "Dana loi ryhmän ”Retkeily”",
        "Dana lisäsi Owen",
        "Owen poistui",
        "Dana vaihtoi aiheen ”A” aiheeksi ”B”",
        "Turvakoodisi henkilön Owen kanssa vaihtui.",
        "Vastaamaton äänipuhelu",
    ],
    "ru": [
        "Сообщения и звонки защищены сквозным шифрованием.",
        "Dana создал(а) группу «Походы»",
        "Dana добавил(а) Owen",
        "Owen вышел(а)",
        "Dana изменил(а) тему с «A» на «B»",
        "Ваш код безопасности для Owen изменился.",
        "Пропущенный аудиозвонок",
    ],
    "tr": [
        "Mesajlar ve aramalar uçtan uca şifrelidir.",
        'Dana "Yürüyüş" grubunu oluşturdu',
        "Dana, Owen kişisini ekledi",
        "Owen ayrıldı",
        'Dana konuyu "A" iken "B" olarak değiştirdi',
        "Owen ile güvenlik kodunuz değişti.",
        "Cevapsız sesli arama",
    ],
}
PLACEHOLDERS = [
    ("<Media omitted>", "media_only"),
    ("<Médias omis>", "media_only"),
    ("<Medien ausgeschlossen>", "media_only"),
    ("\u200eimage omitted", "media_only"),
    ("\u200eBild weggelassen", "media_only"),
    ("<Multimedia omitido>", "media_only"),
    ("<Media weggelaten>", "media_only"),
    ("<Medya dahil edilmedi>", "media_only"),
    ("\u200eThis message was deleted.", "deleted"),
    ("Diese Nachricht wurde gelöscht", "deleted"),
    ("Se eliminó este mensaje.", "deleted"),
    ("Bu mesaj silindi", "deleted"),
]
ORDINARY = [
    "Tom left",
    "Ana added salt",
    "Messages are slow today",
    "I changed the plan",
    "we added two more people to the list",
    "Dana hat Hunger",
    "code changed?",
    "the image omitted from the report was fine",
]
CASES = [(lang, body) for lang, bodies in SYSTEM.items() for body in bodies]


@pytest.mark.parametrize("lang, body", CASES)
@pytest.mark.parametrize("mark", ["", "\u200e"])
def test_notices_attributed_to_the_group(lang, body, mark):
    assert classify(mark + body, "Hiking Club", "Hiking Club")[0] == "system"


@pytest.mark.parametrize("lang, body", CASES)
def test_notices_with_the_mark_whoever_the_sender(lang, body):
    assert classify("\u200e" + body, "Owen", "Hiking Club")[0] == "system"


@pytest.mark.parametrize("body, reason", PLACEHOLDERS)
def test_placeholders(body, reason):
    assert classify(body, "Owen", "Owen")[0] == reason


@pytest.mark.parametrize("body", ORDINARY)
def test_ordinary_text_typed_by_a_person(body):
    assert classify(body, "Owen", "Hiking Club") == (None, body)


def test_every_placeholder_phrase_opens_the_slow_path():
    for phrase in (*notices._OMITTED, *notices._DELETED, *notices.CALLS):
        assert not notices.ANY.isdisjoint(phrase.split()) or phrase[0] == "<", phrase
