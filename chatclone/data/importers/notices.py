"""WhatsApp's system notices and placeholders, in the languages WhatsApp exports are read in.

Shared by the WhatsApp importer and the Chatistics importer (Chatistics keeps them as message
text). iOS attributes notices to a sender and Android sometimes does too, so they are recognised
by their wording, whatever invisible marks they carry. Languages: en, de, fr, es, it, pt, nl, fi,
ru, tr. A notice pattern only runs on a body holding one of its words, so an ordinary message
costs one `split` and one set test, not a dozen regex searches.
"""

from __future__ import annotations

import re

from chatclone.data.importers._common import strip_marks

_OMITTED = (
    "<Media omitted>", "<Medien ausgeschlossen>", "<Médias omis>", "<Média omis>",
    "<Multimedia omitido>", "<Media omessi>", "<Mídia oculta>", "<Arquivo de mídia oculto>",
    "<Media weggelaten>", "<Media jätettiin pois>", "<Без медиафайлов>", "<Медиафайл пропущен>",
    "<Medya dahil edilmedi>", "<Medya atlandı>", "null", "view once voice message omitted",
    "Contact card omitted", "Kontaktkarte weggelassen", "Kontaktkarte ausgelassen",
    "image omitted", "video omitted", "audio omitted", "sticker omitted", "GIF omitted",
    "document omitted", "Bild weggelassen", "Video weggelassen", "Audio weggelassen",
    "Sticker weggelassen", "GIF weggelassen", "Dokument weggelassen", "audio omitido",
    "video omitido", "vídeo omitido", "sticker omitido", "GIF omitido", "documento omitido",
    "image absente", "vidéo absente", "audio omis", "image omise", "vidéo omise",
    "autocollant omis", "document omis", "carte de contact omise",
    "imagen omitida", "tarjeta de contacto omitida", "immagine omessa", "video omesso",
    "audio omesso", "sticker omesso", "GIF omessa", "documento omesso", "scheda contatto omessa",
    "imagem ocultada", "áudio ocultado", "vídeo ocultado", "figurinha omitida",
    "documento ocultado", "afbeelding weggelaten", "kuva jätettiin pois", "video jätettiin pois",
    "изображение отсутствует", "видео отсутствует", "аудио отсутствует", "стикер отсутствует",
    "görüntü dahil edilmedi", "video dahil edilmedi", "ses dahil edilmedi",
    "çıkartma dahil edilmedi",
)  # fmt: skip
MEDIA = frozenset(s.lower() for s in _OMITTED)
# "image omitted", "Bild weggelassen", "imagen omitida", "GIF omitido", …: the kind varies.
MEDIA_SUFFIXES = (" omitted", " weggelassen", " omitida", " omitido", " weggelaten", " omis")
_DELETED = (
    "This message was deleted", "You deleted this message",
    "Diese Nachricht wurde gelöscht", "Du hast diese Nachricht gelöscht",
    "Ce message a été supprimé", "Vous avez supprimé ce message",
    "Se eliminó este mensaje", "Eliminaste este mensaje", "Este mensaje fue eliminado",
    "Questo messaggio è stato eliminato", "Hai eliminato questo messaggio",
    "Mensagem apagada", "Essa mensagem foi apagada", "Esta mensagem foi apagada",
    "Você apagou esta mensagem", "Apagaste esta mensagem",
    "Dit bericht is verwijderd", "Je hebt dit bericht verwijderd",
    "Tämä viesti poistettiin", "Poistit tämän viestin",
    "Данное сообщение удалено", "Это сообщение удалено", "Вы удалили данное сообщение",
    "Вы удалили это сообщение", "Bu mesaj silindi", "Bu mesajı sildiniz",
)  # fmt: skip
DELETED = frozenset(s.lower() + end for s in _DELETED for end in ("", "."))
CALLS = tuple(
    s.lower()
    for s in (
        "Missed voice call", "Missed video call", "Missed group voice call",
        "Missed group video call", "Verpasster Sprachanruf", "Verpasster Videoanruf",
        "Appel vocal manqué", "Appel vidéo manqué", "Llamada de voz perdida",
        "Videollamada perdida", "Chiamata vocale persa", "Videochiamata persa",
        "Chamada de voz perdida", "Chamada de vídeo perdida", "Gemiste spraakoproep",
        "Gemiste video-oproep", "Vastaamaton äänipuhelu", "Vastaamaton videopuhelu",
        "Пропущенный аудиозвонок", "Пропущенный видеозвонок", "Cevapsız sesli arama",
        "Cevapsız görüntülü arama",
    )
)  # fmt: skip
# Android `IMG-….jpg (file attached)` (any file name, any extension), iOS `<attached: …>`.
ATTACHED = re.compile(
    r"^[^\n]+? \((?:file attached|Datei angehängt|fichier joint|archivo adjunto|file allegato|"
    r"arquivo anexado|ficheiro anexado|bestand bijgevoegd|tiedosto liitetty|liitetty tiedosto|"
    r"файл прикреплен|файл прикреплён|dosya ekli|dosya eklendi)\)[^\S\n]*(?:\n|$)",
    re.I,
)
IOS_ATTACHED = re.compile(
    r"^<(?:attached|angehängt|Anhang|pièce jointe|adjunto|allegato|anexado|anexo|bijgevoegd|"
    r"liite|liitetty|вложение|прикреплено|ek|eklendi)\s?: [^>\n]*>[^\S\n]*(?:\n|$)",
    re.I,
)
EDITED = re.compile(
    r"\s*<(?:This message was edited|Diese Nachricht wurde bearbeitet|Ce message a été modifié|"
    r"Se editó este mensaje\.?|Questo messaggio è stato modificato|Esta mensagem foi editada|"
    r"Dit bericht is bewerkt|Tätä viestiä on muokattu|Сообщение изменено|Bu mesaj düzenlendi)>$",
    re.I,
)
_Q = "[\"“”„«»'‘’]"  # the quotes around a group name or subject
_WHO = r"[^\s:][^\n:]{0,60}?"  # a name, a phone number or "You"
# (words, pattern): the pattern runs only on a body holding one of the words. Notices whose
# wording alone says what they are are searched for; membership notices (marked `who`) are
# ordinary words ("Tom left"), see `is_notice`.
_RULES = (
    (
        "Messages Nachrichten messages mensajes messaggi mensagens Berichten Viestit Сообщения "
        "Mesajlar",
        r"^(?:Messages|Nachrichten|Les messages|Los mensajes|I messaggi|As mensagens|Berichten|"
        r"Viestit|Сообщения|Mesajlar)\b[^\n]{0,100}?(?:end-to-end|Ende-zu-Ende|de bout en bout|"
        r"de extremo a extremo|ponta a ponta|ponta-a-ponta|päästä päähän|сквозным шифрованием|"
        r"uçtan uca)",
    ),
    (
        "created Gruppe créé creó creato criou groep aangemaakt loi создал создала создали создал(а) "
        "grubunu oluşturdu",
        r"created group " + _Q + r"|created this group$|hat die Gruppe " + _Q + r"|"
        r"hat diese Gruppe erstellt|a créé (?:le|ce) groupe|creó (?:el|este) grupo|"
        r"ha creato (?:il|questo) gruppo|criou (?:o|este) grupo|heeft (?:de )?groep .{0,100}"
        r"aangemaakt|heeft deze groep aangemaakt|loi ryhmän|создал\w*(?:\(а\))? группу|"
        r"grubunu oluşturdu",
    ),
    (
        "changed deleted Betreff Gruppenbild Gruppenbeschreibung modifié changé cambió cambiato "
        "modificato mudou alterou onderwerp groepsafbeelding vaihtoi изменил изменила изменили изменил(а) "
        "değiştirdi",
        r"changed the subject (?:from|to) |(?:changed|deleted) (?:this group's|the group) "
        r"(?:icon|description|name|settings)|hat den (?:Betreff|Gruppennamen)|"
        r"hat (?:das Gruppenbild|die Gruppenbeschreibung)|"
        r"a (?:modifié|changé) (?:le sujet|l['’]icône|la description)|cambió (?:el asunto|"
        r"el [íi]cono|la descripción)|ha (?:cambiato|modificato) (?:l['’]oggetto|l['’]immagine|"
        r"la descrizione)|(?:mudou|alterou) (?:o assunto|a imagem|a descrição)|"
        r"heeft (?:het onderwerp|de groepsafbeelding)|vaihtoi (?:aiheen|tämän ryhmän kuvan)|"
        r"изменил\w*(?:\(а\))? (?:тему|изображение|описание)|"
        r"(?:konuyu|simgesini|açıklamasını) .{0,100}değiştirdi|changed their phone number|"
        r"changed to \+\d|hat (?:seine|ihre) Telefonnummer",
    ),
    (
        "joined Einladungslink lien enlace link uitnodigingslink kutsulinkin "
        "ссылке-приглашению bağlantısını",
        r"joined using (?:this group's|an) invite link|über den Einladungslink|"
        r"via le lien d['’]invitation|usando el enlace de invitación|tramite il link d['’]invito|"
        r"usando o link de convite|via de uitnodigingslink|kutsulinkin kautta|"
        r"по ссылке-приглашению|davet bağlantısını kullanarak",
    ),
    (
        "security code Sicherheitsnummer código codice beveiligingscode Turvakoodisi turvakoodi "
        "безопасности güvenlik",
        r"(?:security code|Sicherheitsnummer|code de sécurité|código de seguridad|"
        r"codice di sicurezza|código de segurança|beveiligingscode|turvakoodi\w*|"
        r"код безопасности|güvenlik kodu\w*)\b.{0,100}?(?:changed|geändert|changé|cambió|"
        r"cambiato|mudou|gewijzigd|vaihtui|muuttui|изменился|değişti)",
    ),
    (
        "You're You Du Waiting Warte attente Esperando attesa Aguardando Wachten Odotetaan "
        "Ожидание bekleniyor This",
        r"^(?:You're|You are) now an admin|^Du bist jetzt (?:ein )?Admin|"
        r"^You (?:turned (?:on|off)|enabled|disabled) disappearing messages|"
        r"^(?:Waiting for this message|Warte auf diese Nachricht|En attente de ce message|"
        r"Esperando el mensaje|In attesa di questo messaggio|Aguardando (?:esta|a) mensagem|"
        r"Wachten op dit bericht|Odotetaan tätä viestiä|Ожидание сообщения|Bu mesaj bekleniyor)|"
        r"^This chat is with a business account|^You (?:un)?blocked this contact",
    ),
    (
        "added removed ajouté retiré añadió eliminó aggiunto rimosso adicionou removeu lisäsi "
        "poisti добавил добавила добавили добавил(а) удалил удалила удалили удалил(а)",
        rf"(?P<who>{_WHO}) (?:added|removed|a ajouté|a retiré|añadió(?: a)?|eliminó a|"
        rf"ha aggiunto|ha rimosso|adicionou|removeu|lisäsi|poisti|добавил\w*(?:\(а\))?|"
        rf"удалил\w*(?:\(а\))?) .{{1,200}}",
    ),
    (
        "hinzugefügt entfernt toegevoegd verwijderd ekledi çıkardı",
        rf"(?P<who>{_WHO}),? (?:hat|heeft)? ?.{{1,200}} (?:hinzugefügt|entfernt|toegevoegd|"
        rf"verwijderd|(?:kişisini )?(?:ekledi|çıkardı))",
    ),
    (
        "left joined verlassen beigetreten parti partie parti(e) quitté rejoint salió unió uscito "
        "uscita entrato entrata unito unita saiu entrou vertrokken verlaten poistui liittyi вышел "
        "вышла вышли вышел(а) присоединился присоединилась присоединились ayrıldı katıldı",
        rf"(?P<who>{_WHO}) (?:left|joined|hat die Gruppe verlassen|ist beigetreten|"
        rf"est parti(?:e|\(e\))?|a quitté(?: le groupe)?|a rejoint(?: le groupe)?|"
        rf"salió(?: del grupo)?|se unió|è uscit[oa]|è entrat[oa]|si è unit[oa]|saiu|entrou|"
        rf"is vertrokken|heeft de groep verlaten|poistui|liittyi|вышл?[аи]?|вышел(?:\(а\))?|"
        rf"присоединил\w*|ayrıldı|katıldı)",
    ),
)
_BY_WORD: dict[str, list[re.Pattern]] = {}
for _words, _pattern in _RULES:
    _compiled = re.compile(_pattern, re.I)
    for _word in _words.split():
        # Capitalised words open a notice ("You …", "Messages …"): only that form counts.
        for _form in {_word} if _word[0].isupper() else {_word, _word.capitalize()}:
            _BY_WORD.setdefault(_form, []).append(_compiled)
_GATE = frozenset(_BY_WORD)


# Common words of the placeholder phrases that would open the slow path for ordinary text.
_COMMON = frozenset(
    "this you was message a de la se el il è ha hai je hebt is du hast diese ce vous avez este "
    "esta essa fue foi questo stato wurde bu вы это данное tämä tämän of call image video "
    "audio group view once card contact document sticker gif".split()
)
_PHRASE_WORDS = {
    w for s in (*_OMITTED, *_DELETED, *CALLS) for w in s.split() if w.lower() not in _COMMON
}
# Any word that may start a placeholder, deletion, call or notice: a body without one of
# them (nor an attachment's `(` or `<`) is ordinary text, settled by one set test.
ANY = _GATE | {f for w in _PHRASE_WORDS for f in (w, w.lower(), w.capitalize(), w + ".")}


def is_notice(
    body: str, sender: str, marked: bool, title: str = "", words: list[str] | None = None
) -> bool:
    """Whether a body (marks stripped, trimmed) is one of WhatsApp's system notices. A
    membership notice ("X added Y", "X left") only where nobody could have typed it: no sender
    (Android), the iOS mark, the group name as sender, or the actor as sender."""
    if len(body) > 400:
        return False
    words = body.split() if words is None else words
    if _GATE.isdisjoint(words):
        return False
    for pattern in {p for w in words for p in _BY_WORD.get(w, ())}:
        if "who" not in pattern.groupindex:
            if pattern.search(body):
                return True
        elif (m := pattern.fullmatch(body)) is not None:
            if marked or not sender or sender == title or m.group("who") == sender:
                return True
    return False


def classify(
    body: str, sender: str = "", title: str = "", strict: bool = True
) -> tuple[str | None, str]:
    """(skip reason or None, cleaned text) of one message body. `strict`: an unmarked
    "… omitted" is only a placeholder where it is the whole known phrase (iOS, where people
    can type the same words); Android placeholders are always whole phrases."""
    marked = body[:1] == "\u200e"
    if not body.isascii():
        body = strip_marks(body)
    body = body.strip()
    if not body:
        return "empty", body
    if body[-1] == ">" and "<" in body[:-1]:
        body = EDITED.sub("", body)
        if not body:
            return "empty", body
    words = body.split()
    if ANY.isdisjoint(words) and body[0] != "<" and " (" not in body:
        return None, body  # the common case: ordinary text
    if len(body) < 80:
        key = body.lower()
        if key in MEDIA or key.endswith(MEDIA_SUFFIXES) and (marked or not strict):
            return "media_only", body
        if key in DELETED:
            return "deleted", body
        if key.startswith(CALLS):
            return "system", body
    if body[0] == "<" or " (" in body:
        match = (IOS_ATTACHED if body[0] == "<" else ATTACHED).match(body)
        if match is not None:
            caption = body[match.end() :].strip()
            return ("media_only", "") if not caption else (None, caption)
    if is_notice(body, sender, marked, title, words):
        return "system", body
    return None, body
