//! The page in the visitor's language: English, Spanish, Portuguese, French
//! or German, from the browser's `Accept-Language`, or from the footer's
//! switch (`?lang=es`, then remembered in a cookie that says nothing else).
//!
//! Every sentence a person reads is a [`Word`] (said by the pages' islands,
//! so the browser may need it) or a [`PageWord`] (said only by the server's
//! HTML). The server holds every language. The browser's WebAssembly holds
//! only English: a page in another language carries its islands' words in
//! `<body data-words>` (one per line, in [`Word`]'s order), which is smaller
//! than four more languages in every visitor's download (BENCHMARKS.md,
//! "Languages"). The page's own text is rendered in its language by the
//! server, and hydration leaves server-rendered text as it is, so only what
//! the islands say later (a status, a notice) is looked up in the page.
//!
//! A library made for Leptos (`leptos_i18n`) compiles every language into
//! the bundle; that alone would break the first-visit budget.

/// The languages the pages are written in, in the order of each word's
/// translations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Language {
    /// English, the default, and the only one the browser's code holds.
    #[default]
    En,
    /// Spanish.
    Es,
    /// Portuguese.
    Pt,
    /// French.
    Fr,
    /// German.
    De,
}

/// How many languages each word is written in.
const LANGUAGES: usize = 5;

impl Language {
    /// Every language, in the footer's order.
    pub const ALL: [Language; LANGUAGES] = [
        Language::En,
        Language::Es,
        Language::Pt,
        Language::Fr,
        Language::De,
    ];

    /// The language's code (ISO 639-1), as in `lang` attributes, `?lang=`
    /// and "Chat in" (which takes any code [`crate::protocol::check_language`] allows).
    pub fn code(self) -> &'static str {
        ["en", "es", "pt", "fr", "de"][self as usize]
    }

    /// The language whose code is `code` (`es`, `ES`), if the pages are
    /// written in it.
    pub fn from_code(code: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(code))
    }

    /// The language's name in itself, for the footer's switch.
    pub fn own_name(self) -> &'static str {
        ["English", "Español", "Português", "Français", "Deutsch"][self as usize]
    }

    /// The name of the language whose code is `code`, in the page's
    /// language ("You both speak Spanish."), if the pages are written in it.
    pub fn name_of(code: &str) -> Option<&'static str> {
        Some(match code {
            "en" => Word::English.say(),
            "es" => Word::Spanish.say(),
            "pt" => Word::Portuguese.say(),
            "fr" => Word::French.say(),
            "de" => Word::German.say(),
            _ => return None,
        })
    }

    /// The pages' language for a request: the footer's choice (`?lang=`), or
    /// the one it remembered (the `lang` cookie), or the first language of
    /// the browser's `Accept-Language` the pages are written in, or English.
    pub fn for_request(
        chosen: Option<&str>,
        remembered: Option<&str>,
        accepted: Option<&str>,
    ) -> Language {
        chosen
            .and_then(Language::from_code)
            .or_else(|| remembered.and_then(Language::from_code))
            .or_else(|| accepted.and_then(Language::first_accepted))
            .unwrap_or_default()
    }

    /// The most preferred language of an `Accept-Language` header
    /// (`pt-BR,pt;q=0.9,en;q=0.8`) the pages are written in; regions are
    /// ignored (`es-MX` is Spanish), and `q=0` means "not this one".
    pub fn first_accepted(header: &str) -> Option<Language> {
        let mut best: Option<(Language, f32)> = None;
        for item in header.split(',') {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let primary = tag.split('-').next().unwrap_or_default();
            let weight = parts
                .find_map(|part| part.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
                .filter(|q| (0.0..=1.0).contains(q));
            let (Some(language), Some(weight)) = (Language::from_code(primary), weight) else {
                continue;
            };
            if weight > 0.0 && best.is_none_or(|(_, so_far)| weight > so_far) {
                best = Some((language, weight));
            }
        }
        best.map(|(language, _)| language)
    }

    /// The language of the page being rendered (the server provides it to
    /// every page it renders); English elsewhere.
    pub fn current() -> Language {
        #[cfg(feature = "ssr")]
        {
            leptos::prelude::use_context::<Language>().unwrap_or_default()
        }
        #[cfg(not(feature = "ssr"))]
        {
            Language::En
        }
    }
}

/// Declares a set of words, each written in every [`Language`], in order.
/// Only the server's build holds the translations.
macro_rules! words {
    (
        $(#[$meta:meta])*
        $vis:vis enum $set:ident {
            $( $word:ident => [$english:literal $(, $translation:literal)* $(,)?], )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $set {
            $( #[doc = concat!("\"", $english, "\"")] $word, )*
        }

        impl $set {
            /// Every word, in the order the page's dictionary lists them.
            pub const ALL: &[$set] = &[$($set::$word),*];

            /// Every word in English, a line each, in order: how the
            /// browser's build holds them (one string compresses better
            /// than a table of them).
            pub const ENGLISH: &str = concat!($($english, "\n"),*);

            /// The word in English.
            pub fn english(self) -> &'static str {
                match self {
                    $( $set::$word => $english, )*
                }
            }

            /// The word in `language`.
            #[cfg(feature = "ssr")]
            pub fn in_language(self, language: Language) -> &'static str {
                let written: [&'static str; LANGUAGES] = match self {
                    $( $set::$word => [$english $(, $translation)*], )*
                };
                written[language as usize]
            }

            /// The word with `{}` filled in by `value` ("You both like {}.").
            pub fn with(self, value: impl std::fmt::Display) -> String {
                fill(self.say(), &value)
            }
        }
    };
}

words! {
    /// What the pages' islands say after the page has loaded (a status, a
    /// notice, a hint that changes): the browser's build holds these in
    /// English, and a page in another language carries them
    /// ([`Word::dictionary`]). In order: the start page's, both pages', every
    /// chat's, question mode's, video's (a page carries only what it may say).
    pub enum Word {
        // The start page's.
        InterestsFull => ["That's 10!", "¡Ya son 10!", "Já são 10!", "C'est 10 !", "Das sind 10!"],
        AddInterest => ["Add an interest, then Enter", "Añade un interés y pulsa Intro", "Adicione um interesse e tecle Enter", "Ajoutez un centre d'intérêt, puis Entrée", "Interesse eingeben, dann Enter"],
        RemoveInterest => ["Remove {}", "Quitar {}", "Remover {}", "Retirer {}", "{} entfernen"],
        GateMissing => ["To start chatting, first tick the box above: Strangers is for adults who agree to its rules.", "Para empezar a chatear, marca primero la casilla de arriba: Strangers es para adultos que aceptan sus normas.", "Para começar a conversar, marque primeiro a caixa acima: o Strangers é para adultos que aceitam as regras.", "Pour commencer, cochez d'abord la case ci-dessus : Strangers est réservé aux adultes qui acceptent ses règles.", "Um loszulegen, setze zuerst oben das Häkchen: Strangers ist für Erwachsene, die den Regeln zustimmen."],
        GateHint => ["Strangers is for adults only. Read the rules before you start.", "Strangers es solo para adultos. Lee las normas antes de empezar.", "O Strangers é só para adultos. Leia as regras antes de começar.", "Strangers est réservé aux adultes. Lisez les règles avant de commencer.", "Strangers ist nur für Erwachsene. Lies die Regeln, bevor du anfängst."],
        NoRelayHint => ["Not available here: this server has no relay (TURN) server.", "No disponible aquí: este servidor no tiene servidor de retransmisión (TURN).", "Indisponível aqui: este servidor não tem servidor de retransmissão (TURN).", "Indisponible ici : ce serveur n'a pas de serveur relais (TURN).", "Hier nicht verfügbar: Dieser Server hat keinen Relay-Server (TURN)."],
        DirectHint => ["Faster video, but the stranger's browser can learn your IP address.", "Vídeo más rápido, pero el navegador del desconocido puede conocer tu dirección IP.", "Vídeo mais rápido, mas o navegador do desconhecido pode descobrir seu endereço IP.", "Vidéo plus rapide, mais le navigateur de l'inconnu peut connaître votre adresse IP.", "Schnelleres Video, aber der Browser des Fremden kann deine IP-Adresse erfahren."],
        RelayHint => ["The call goes through the server's relay, so the stranger never learns your address.", "La llamada pasa por el servidor de retransmisión, así que el desconocido nunca conoce tu dirección.", "A chamada passa pelo servidor de retransmissão, então o desconhecido nunca descobre seu endereço.", "L'appel passe par le relais du serveur : l'inconnu ne connaît jamais votre adresse.", "Der Anruf läuft über den Relay-Server, daher erfährt der Fremde nie deine Adresse."],
        // Both pages'.
        OnlineOne => ["{} stranger online", "{} desconocido en línea", "{} desconhecido online", "{} inconnu en ligne", "{} Fremder online"],
        OnlineMany => ["{} strangers online", "{} desconocidos en línea", "{} desconhecidos online", "{} inconnus en ligne", "{} Fremde online"],
        // Every chat's.
        Connecting => ["Connecting to the server...", "Conectando con el servidor...", "Conectando ao servidor...", "Connexion au serveur...", "Verbindung zum Server wird hergestellt..."],
        Checking => ["Checking that you are not a bot...", "Comprobando que no eres un bot...", "Verificando que você não é um robô...", "Vérification que vous n'êtes pas un robot...", "Prüfung, dass du kein Bot bist..."],
        Searching => ["Looking for someone you can chat with...", "Buscando a alguien con quien puedas chatear...", "Procurando alguém com quem você possa conversar...", "Recherche de quelqu'un avec qui discuter...", "Suche jemanden, mit dem du chatten kannst..."],
        Chatting => ["You're now chatting with a random stranger. Say hi!", "Ya estás chateando con un desconocido al azar. ¡Saluda!", "Agora você está conversando com um desconhecido aleatório. Diga oi!", "Vous discutez maintenant avec un inconnu au hasard. Dites bonjour !", "Du chattest jetzt mit einem zufälligen Fremden. Sag hallo!"],
        Ended => ["The chat has ended. Press New to meet another stranger.", "El chat ha terminado. Pulsa Nuevo para conocer a otro desconocido.", "A conversa terminou. Aperte Novo para conhecer outro desconhecido.", "La discussion est terminée. Appuyez sur Nouveau pour rencontrer un autre inconnu.", "Der Chat ist beendet. Drücke Neu, um einen anderen Fremden zu treffen."],
        Offline => ["Lost the connection to the server. Press New to reconnect.", "Se perdió la conexión con el servidor. Pulsa Nuevo para volver a conectar.", "A conexão com o servidor caiu. Aperte Novo para reconectar.", "Connexion au serveur perdue. Appuyez sur Nouveau pour vous reconnecter.", "Die Verbindung zum Server ist weg. Drücke Neu, um dich wieder zu verbinden."],
        Really => ["Really?", "¿Seguro?", "Certeza?", "Vraiment ?", "Wirklich?"],
        Stop => ["Stop", "Parar", "Parar", "Arrêter", "Stopp"],
        New => ["New", "Nuevo", "Novo", "Nouveau", "Neu"],
        BotCheckFailed => ["Your browser could not finish checking that you are not a bot.", "Tu navegador no pudo terminar la comprobación de que no eres un bot.", "Seu navegador não conseguiu concluir a verificação de que você não é um robô.", "Votre navigateur n'a pas pu terminer la vérification que vous n'êtes pas un robot.", "Dein Browser konnte die Prüfung, dass du kein Bot bist, nicht abschließen."],
        StrangerLeft => ["Stranger has disconnected.", "El desconocido se ha desconectado.", "O desconhecido se desconectou.", "L'inconnu s'est déconnecté.", "Der Fremde hat die Verbindung getrennt."],
        YouLeft => ["You have disconnected.", "Te has desconectado.", "Você se desconectou.", "Vous vous êtes déconnecté.", "Du hast die Verbindung getrennt."],
        BothSpeak => ["You both speak {}.", "Los dos habláis {}.", "Vocês dois falam {}.", "Vous parlez tous les deux {}.", "Ihr sprecht beide {}."],
        SameLanguage => ["You both chose the same language.", "Los dos elegisteis el mismo idioma.", "Vocês dois escolheram o mesmo idioma.", "Vous avez choisi la même langue.", "Ihr habt beide dieselbe Sprache gewählt."],
        English => ["English", "inglés", "inglês", "anglais", "Englisch"],
        Spanish => ["Spanish", "español", "espanhol", "espagnol", "Spanisch"],
        Portuguese => ["Portuguese", "portugués", "português", "portugais", "Portugiesisch"],
        French => ["French", "francés", "francês", "français", "Französisch"],
        German => ["German", "alemán", "alemão", "allemand", "Deutsch"],
        BothLike => ["You both like {}.", "A los dos os gusta {}.", "Vocês dois curtem {}.", "Vous aimez tous les deux {}.", "Ihr mögt beide {}."],
        And => [" and ", " y ", " e ", " et ", " und "],
        BannedForGood => ["You are banned from Strangers, after reports from other strangers.", "Tienes prohibido el acceso a Strangers tras las denuncias de otros desconocidos.", "Você foi banido do Strangers após denúncias de outros desconhecidos.", "Vous êtes banni de Strangers, après des signalements d'autres inconnus.", "Du bist bei Strangers gesperrt, nach Meldungen anderer Fremder."],
        BannedFor => ["You are banned from Strangers for {}, after reports from other strangers.", "Tienes prohibido el acceso a Strangers durante {} tras las denuncias de otros desconocidos.", "Você foi banido do Strangers por {} após denúncias de outros desconhecidos.", "Vous êtes banni de Strangers pendant {}, après des signalements d'autres inconnus.", "Du bist bei Strangers für {} gesperrt, nach Meldungen anderer Fremder."],
        UnderAMinute => ["less than a minute", "menos de un minuto", "menos de um minuto", "moins d'une minute", "weniger als eine Minute"],
        ReportSent => ["Thanks. Your report was sent.", "Gracias. Tu denuncia se ha enviado.", "Obrigado. Sua denúncia foi enviada.", "Merci. Votre signalement a été envoyé.", "Danke. Deine Meldung wurde gesendet."],
        You => ["You:", "Tú:", "Você:", "Vous :", "Du:"],
        Stranger => ["Stranger:", "Desconocido:", "Desconhecido:", "Inconnu :", "Fremder:"],
        LogTitle => ["Strangers chat log", "Registro del chat de Strangers", "Conversa no Strangers", "Discussion sur Strangers", "Strangers-Chatverlauf"],
        TypeAMessage => ["Type a message", "Escribe un mensaje", "Digite uma mensagem", "Écrivez un message", "Nachricht eingeben"],
        SaveLog => ["Save log", "Guardar el chat", "Salvar conversa", "Enregistrer la discussion", "Verlauf speichern"],
        ReportTitle => ["Report the stranger for abuse", "Denunciar al desconocido por abuso", "Denunciar o desconhecido por abuso", "Signaler l'inconnu pour abus", "Den Fremden wegen Missbrauchs melden"],
        Report => ["Report", "Denunciar", "Denunciar", "Signaler", "Melden"],
        ReportThisStranger => ["Report this stranger", "Denunciar a este desconocido", "Denunciar este desconhecido", "Signaler cet inconnu", "Diesen Fremden melden"],
        WhatIsWrong => ["What is wrong?", "¿Qué ocurre?", "Qual é o problema?", "Quel est le problème ?", "Was ist los?"],
        ChooseFirst => ["Choose what is wrong first.", "Elige primero qué ocurre.", "Escolha primeiro qual é o problema.", "Choisissez d'abord le problème.", "Wähle zuerst aus, was los ist."],
        Sexual => ["Nudity or sexual content", "Desnudos o contenido sexual", "Nudez ou conteúdo sexual", "Nudité ou contenu sexuel", "Nacktheit oder sexuelle Inhalte"],
        Minor => ["Seems under 18", "Parece menor de 18", "Parece ter menos de 18", "Semble avoir moins de 18 ans", "Scheint unter 18 zu sein"],
        Harassment => ["Harassment or hate", "Acoso u odio", "Assédio ou ódio", "Harcèlement ou haine", "Belästigung oder Hass"],
        Spam => ["Spam or a bot", "Spam o un bot", "Spam ou robô", "Spam ou robot", "Spam oder ein Bot"],
        SomethingElse => ["Something else", "Otra cosa", "Outra coisa", "Autre chose", "Etwas anderes"],
        IncludeLines => ["Include the last messages of this chat", "Incluir los últimos mensajes de este chat", "Incluir as últimas mensagens desta conversa", "Joindre les derniers messages de cette discussion", "Die letzten Nachrichten dieses Chats mitsenden"],
        NoLinesSent => ["No messages will be sent.", "No se enviará ningún mensaje.", "Nenhuma mensagem será enviada.", "Aucun message ne sera envoyé.", "Es werden keine Nachrichten gesendet."],
        ReportEndsChat => ["Sending ends the chat. The stranger is not told who reported them.", "Enviarla termina el chat. Al desconocido no se le dice quién lo denunció.", "Enviar encerra a conversa. O desconhecido não fica sabendo quem o denunciou.", "L'envoi met fin à la discussion. L'inconnu ne sait pas qui l'a signalé.", "Das Senden beendet den Chat. Der Fremde erfährt nicht, wer ihn gemeldet hat."],
        Cancel => ["Cancel", "Cancelar", "Cancelar", "Annuler", "Abbrechen"],
        SendReport => ["Send report", "Enviar denuncia", "Enviar denúncia", "Envoyer le signalement", "Meldung senden"],
        NothingSaid => ["Nothing was said in this chat yet.", "Todavía no se ha dicho nada en este chat.", "Nada foi dito nesta conversa ainda.", "Rien n'a encore été dit dans cette discussion.", "In diesem Chat wurde noch nichts gesagt."],
        LinesToSend => ["These {} lines will be sent with the report:", "Estas {} líneas se enviarán con la denuncia:", "Estas {} linhas serão enviadas com a denúncia:", "Ces {} lignes seront envoyées avec le signalement :", "Diese {} Zeilen werden mit der Meldung gesendet:"],
        LinesLabel => ["Messages that will be sent", "Mensajes que se enviarán", "Mensagens que serão enviadas", "Messages qui seront envoyés", "Nachrichten, die gesendet werden"],
        Typing => ["Stranger is typing...", "El desconocido está escribiendo...", "O desconhecido está digitando...", "L'inconnu est en train d'écrire...", "Der Fremde schreibt..."],
        NotifyMe => ["Notify me when someone is found", "Avísame cuando encuentre a alguien", "Avise-me quando encontrar alguém", "Me prévenir quand quelqu'un est trouvé", "Benachrichtige mich, wenn jemand gefunden ist"],
        StrangerFound => ["Stranger found", "Desconocido encontrado", "Desconhecido encontrado", "Inconnu trouvé", "Fremder gefunden"],
        SayHi => ["Say hi before they move on.", "Saluda antes de que se vaya.", "Diga oi antes que a pessoa vá embora.", "Dites bonjour avant qu'il ne parte.", "Sag hallo, bevor er weiterzieht."],
        GoToStart => ["Go to the start page", "Ir a la página de inicio", "Ir para a página inicial", "Aller à la page d'accueil", "Zur Startseite"],
        // Question mode's.
        SearchingForQuestion => ["Looking for two strangers to discuss your question...", "Buscando dos desconocidos que debatan tu pregunta...", "Procurando dois desconhecidos para discutir sua pergunta...", "Recherche de deux inconnus pour discuter de votre question...", "Suche zwei Fremde, die deine Frage diskutieren..."],
        SearchingToDiscuss => ["Looking for a question to discuss...", "Buscando una pregunta que debatir...", "Procurando uma pergunta para discutir...", "Recherche d'une question à discuter...", "Suche eine Frage zum Diskutieren..."],
        ReadingAlong => ["Two strangers are discussing your question. You are reading along.", "Dos desconocidos están debatiendo tu pregunta. Tú lees la conversación.", "Dois desconhecidos estão discutindo sua pergunta. Você acompanha a leitura.", "Deux inconnus discutent de votre question. Vous lisez la discussion.", "Zwei Fremde diskutieren deine Frage. Du liest mit."],
        Discussing => ["You're discussing a question with a stranger. Say hi!", "Estás debatiendo una pregunta con un desconocido. ¡Saluda!", "Você está discutindo uma pergunta com um desconhecido. Diga oi!", "Vous discutez d'une question avec un inconnu. Dites bonjour !", "Du diskutierst eine Frage mit einem Fremden. Sag hallo!"],
        Discusser1Left => ["Stranger 1 left. The discussion is over.", "El desconocido 1 se fue. La conversación ha terminado.", "O desconhecido 1 saiu. A discussão acabou.", "L'inconnu 1 est parti. La discussion est terminée.", "Fremder 1 ist gegangen. Die Diskussion ist vorbei."],
        Discusser2Left => ["Stranger 2 left. The discussion is over.", "El desconocido 2 se fue. La conversación ha terminado.", "O desconhecido 2 saiu. A discussão acabou.", "L'inconnu 2 est parti. La discussion est terminée.", "Fremder 2 ist gegangen. Die Diskussion ist vorbei."],
        AskerStopped => ["The person who asked stopped reading along.", "La persona que preguntó dejó de leer.", "A pessoa que perguntou parou de acompanhar.", "La personne qui a posé la question ne lit plus.", "Die fragende Person liest nicht mehr mit."],
        YouAsked => ["You asked this. Two strangers discuss it; you are reading along.", "Tú preguntaste esto. Dos desconocidos lo debaten; tú lees la conversación.", "Você perguntou isto. Dois desconhecidos discutem; você acompanha.", "Vous avez posé cette question. Deux inconnus en discutent ; vous lisez.", "Du hast das gefragt. Zwei Fremde diskutieren es; du liest mit."],
        SomeoneAsked => ["Someone asked this and is reading along.", "Alguien preguntó esto y está leyendo la conversación.", "Alguém perguntou isto e está acompanhando.", "Quelqu'un a posé cette question et lit la discussion.", "Jemand hat das gefragt und liest mit."],
        AskerGone => ["Someone asked this. They stopped reading along.", "Alguien preguntó esto. Ya no está leyendo.", "Alguém perguntou isto. Parou de acompanhar.", "Quelqu'un a posé cette question. Cette personne ne lit plus.", "Jemand hat das gefragt. Die Person liest nicht mehr mit."],
        OnlyDiscussersWrite => ["You are reading along: only the two discussing can write.", "Estás leyendo: solo pueden escribir los dos que debaten.", "Você está só acompanhando: apenas os dois que discutem podem escrever.", "Vous lisez la discussion : seuls les deux participants peuvent écrire.", "Du liest mit: Nur die beiden Diskutierenden können schreiben."],
        Stranger1 => ["Stranger 1:", "Desconocido 1:", "Desconhecido 1:", "Inconnu 1 :", "Fremder 1:"],
        Stranger2 => ["Stranger 2:", "Desconocido 2:", "Desconhecido 2:", "Inconnu 2 :", "Fremder 2:"],
        // Video's.
        StartingCamera => ["Waiting for your camera and microphone...", "Esperando tu cámara y tu micrófono...", "Aguardando sua câmera e seu microfone...", "En attente de votre caméra et de votre micro...", "Warte auf deine Kamera und dein Mikrofon..."],
        CameraDenied => ["Video chat needs your camera and microphone, and the browser was not allowed to use them. Allow them in the browser's site settings and press Try again, or continue in text.", "El videochat necesita tu cámara y tu micrófono, y el navegador no tiene permiso para usarlos. Permítelos en la configuración del sitio y pulsa Reintentar, o sigue en texto.", "A conversa de vídeo precisa da sua câmera e do seu microfone, e o navegador não tem permissão para usá-los. Permita nas configurações do site e aperte Tentar de novo, ou continue em texto.", "Le chat vidéo a besoin de votre caméra et de votre micro, et le navigateur n'a pas été autorisé à les utiliser. Autorisez-les dans les paramètres du site et appuyez sur Réessayer, ou continuez en texte.", "Der Video-Chat braucht deine Kamera und dein Mikrofon, und der Browser durfte sie nicht verwenden. Erlaube sie in den Website-Einstellungen und drücke Erneut versuchen, oder chatte per Text weiter."],
        NoCamera => ["No camera or microphone was found. Connect one and press Try again, or continue in text.", "No se encontró ninguna cámara ni micrófono. Conecta uno y pulsa Reintentar, o sigue en texto.", "Nenhuma câmera ou microfone foi encontrado. Conecte um e aperte Tentar de novo, ou continue em texto.", "Aucune caméra ni aucun micro trouvé. Branchez-en un et appuyez sur Réessayer, ou continuez en texte.", "Keine Kamera und kein Mikrofon gefunden. Schließe eines an und drücke Erneut versuchen, oder chatte per Text weiter."],
        CameraFailed => ["Your camera or microphone could not be started; another program may be using it. Press Try again, or continue in text.", "No se pudo iniciar tu cámara o tu micrófono; puede que otro programa los esté usando. Pulsa Reintentar, o sigue en texto.", "Não foi possível iniciar sua câmera ou seu microfone; outro programa pode estar usando. Aperte Tentar de novo, ou continue em texto.", "Impossible de démarrer votre caméra ou votre micro ; un autre programme les utilise peut-être. Appuyez sur Réessayer, ou continuez en texte.", "Deine Kamera oder dein Mikrofon ließ sich nicht starten; vielleicht nutzt ein anderes Programm sie. Drücke Erneut versuchen, oder chatte per Text weiter."],
        Insecure => ["Browsers only allow the camera on secure (https) pages, and this page is not one. Continue in text, or ask the server's operator to serve it over https.", "Los navegadores solo permiten la cámara en páginas seguras (https), y esta no lo es. Sigue en texto, o pide al operador del servidor que la sirva por https.", "Os navegadores só permitem a câmera em páginas seguras (https), e esta não é uma delas. Continue em texto, ou peça ao operador do servidor para servi-la por https.", "Les navigateurs n'autorisent la caméra que sur les pages sécurisées (https), et celle-ci n'en est pas une. Continuez en texte, ou demandez à l'opérateur du serveur de la servir en https.", "Browser erlauben die Kamera nur auf sicheren (https-)Seiten, und diese ist keine. Chatte per Text weiter oder bitte den Betreiber, die Seite über https anzubieten."],
        NoRelay => ["Hiding your IP address needs a relay (TURN) server, and this server has none. Continue in text, or start a video chat without hiding your address.", "Ocultar tu dirección IP necesita un servidor de retransmisión (TURN), y este servidor no tiene. Sigue en texto, o empieza un videochat sin ocultar tu dirección.", "Ocultar seu endereço IP exige um servidor de retransmissão (TURN), e este servidor não tem. Continue em texto, ou comece uma conversa de vídeo sem ocultar seu endereço.", "Masquer votre adresse IP demande un serveur relais (TURN), et ce serveur n'en a pas. Continuez en texte, ou lancez un chat vidéo sans masquer votre adresse.", "Um deine IP-Adresse zu verbergen, braucht es einen Relay-Server (TURN), und dieser Server hat keinen. Chatte per Text weiter oder starte einen Video-Chat, ohne deine Adresse zu verbergen."],
        CallFailed => ["The video connection could not be made (a firewall may be in the way). You can still chat in text.", "No se pudo establecer la conexión de vídeo (puede que un cortafuegos lo impida). Aún puedes chatear por texto.", "Não foi possível fazer a conexão de vídeo (um firewall pode estar no caminho). Você ainda pode conversar por texto.", "La connexion vidéo n'a pas pu être établie (un pare-feu bloque peut-être). Vous pouvez toujours discuter en texte.", "Die Videoverbindung kam nicht zustande (vielleicht steht eine Firewall im Weg). Per Text kannst du weiterchatten."],
        TryAgain => ["Try again", "Reintentar", "Tentar de novo", "Réessayer", "Erneut versuchen"],
        TurnOnSound => ["Turn on the stranger's sound", "Activar el sonido del desconocido", "Ativar o som do desconhecido", "Activer le son de l'inconnu", "Ton des Fremden einschalten"],
        Next => ["Next", "Siguiente", "Próximo", "Suivant", "Weiter"],
        VideoHidden => ["Video hidden: it may show nudity.", "Vídeo oculto: puede mostrar desnudos.", "Vídeo oculto: pode mostrar nudez.", "Vidéo masquée : elle peut montrer de la nudité.", "Video ausgeblendet: Es könnte Nacktheit zeigen."],
        ShowAnyway => ["Show anyway", "Mostrar igualmente", "Mostrar mesmo assim", "Afficher quand même", "Trotzdem zeigen"],
        VideoBlurred => ["The stranger's video is blurred.", "El vídeo del desconocido está desenfocado.", "O vídeo do desconhecido está desfocado.", "La vidéo de l'inconnu est floutée.", "Das Video des Fremden ist unscharf."],
        ShowVideo => ["Show video", "Mostrar vídeo", "Mostrar vídeo", "Afficher la vidéo", "Video zeigen"],
        Mute => ["Mute", "Silenciar", "Silenciar", "Couper le micro", "Stumm"],
        CameraOff => ["Camera off", "Apagar cámara", "Desligar câmera", "Couper la caméra", "Kamera aus"],
        ContinueInText => ["Continue in text", "Seguir en texto", "Continuar em texto", "Continuer en texte", "Per Text weiterchatten"],
        VideoWithoutHiding => ["Video without hiding my IP address", "Vídeo sin ocultar mi dirección IP", "Vídeo sem ocultar meu endereço IP", "Vidéo sans masquer mon adresse IP", "Video, ohne meine IP-Adresse zu verbergen"],
    }
}

words! {
    /// What the server renders and the browser never redraws: the pages'
    /// text, and the islands' fixed labels (hydration keeps the server's
    /// text as it is). The browser's build holds none of it.
    pub enum PageWord {
        // The islands' fixed text: the start form's...
        InterestsLabel => ["What do you want to talk about?", "¿De qué quieres hablar?", "Sobre o que você quer conversar?", "De quoi voulez-vous parler ?", "Worüber möchtest du reden?"],
        YourInterests => ["Your interests", "Tus intereses", "Seus interesses", "Vos centres d'intérêt", "Deine Interessen"],
        InterestsHint => ["Optional. You'll be paired with someone who shares one, if anyone does.", "Opcional. Te emparejaremos con alguien que comparta uno, si lo hay.", "Opcional. Você será pareado com alguém que compartilhe um, se houver.", "Facultatif. Vous serez mis en relation avec quelqu'un qui en partage un, s'il y en a.", "Optional. Du wirst mit jemandem verbunden, der eines teilt, falls es jemanden gibt."],
        OnlyShared => ["Only match on shared interests", "Solo emparejar con intereses en común", "Parear só com interesses em comum", "Uniquement avec des centres d'intérêt communs", "Nur bei gemeinsamen Interessen verbinden"],
        ChatIn => ["Chat in", "Chatear en", "Conversar em", "Discuter en", "Chatten auf"],
        AnyLanguage => ["Any language", "Cualquier idioma", "Qualquer idioma", "N'importe quelle langue", "Jede Sprache"],
        BlurOption => ["Blur the stranger's video until I choose to see it", "Desenfocar el vídeo del desconocido hasta que yo decida verlo", "Desfocar o vídeo do desconhecido até eu decidir vê-lo", "Flouter la vidéo de l'inconnu jusqu'à ce que je choisisse de la voir", "Das Video des Fremden unscharf zeigen, bis ich es sehen will"],
        AgreeBefore => ["I am 18 or older and agree to the ", "Tengo 18 años o más y acepto las ", "Tenho 18 anos ou mais e aceito as ", "J'ai 18 ans ou plus et j'accepte les ", "Ich bin mindestens 18 Jahre alt und akzeptiere die "],
        AgreeRules => ["rules", "normas", "regras", "règles", "Regeln"],
        StartChatting => ["Start chatting:", "Empieza a chatear:", "Comece a conversar:", "Commencer à discuter :", "Chat starten:"],
        Text => ["Text", "Texto", "Texto", "Texte", "Text"],
        Or => ["or", "o", "ou", "ou", "oder"],
        Video => ["Video", "Vídeo", "Vídeo", "Vidéo", "Video"],
        QuestionMode => ["Or question mode:", "O el modo pregunta:", "Ou o modo pergunta:", "Ou le mode question :", "Oder der Fragemodus:"],
        AskAQuestion => ["Ask a question", "Haz una pregunta", "Faça uma pergunta", "Posez une question", "Stell eine Frage"],
        AskHint => ["Two strangers discuss it while you read along (up to 200 characters).", "Dos desconocidos la debaten mientras tú lees (hasta 200 caracteres).", "Dois desconhecidos discutem enquanto você acompanha (até 200 caracteres).", "Deux inconnus en discutent pendant que vous lisez (200 caractères au plus).", "Zwei Fremde diskutieren sie, während du mitliest (bis zu 200 Zeichen)."],
        Ask => ["Ask", "Preguntar", "Perguntar", "Demander", "Fragen"],
        DiscussQuestions => ["Discuss questions", "Debatir preguntas", "Discutir perguntas", "Discuter des questions", "Fragen diskutieren"],
        DiscussHint => ["Discuss other people's questions with a stranger, while the person who asked reads along.", "Debate preguntas de otras personas con un desconocido, mientras quien preguntó lee.", "Discuta perguntas de outras pessoas com um desconhecido, enquanto quem perguntou acompanha.", "Discutez des questions des autres avec un inconnu, pendant que la personne qui a demandé lit.", "Diskutiere die Fragen anderer mit einem Fremden, während die fragende Person mitliest."],
        HideIp => ["Hide my IP address in video chats", "Ocultar mi dirección IP en los videochats", "Ocultar meu endereço IP nas conversas de vídeo", "Masquer mon adresse IP dans les chats vidéo", "Meine IP-Adresse in Video-Chats verbergen"],
        // ...and the chat's.
        MessageLabel => ["Message", "Mensaje", "Mensagem", "Message", "Nachricht"],
        Send => ["Send", "Enviar", "Enviar", "Envoyer", "Senden"],
        Sealed => ["Messages are end-to-end encrypted. Compare this code with the stranger to be sure. ", "Los mensajes están cifrados de extremo a extremo. Compara este código con el desconocido para estar seguro. ", "As mensagens são criptografadas de ponta a ponta. Compare este código com o desconhecido para ter certeza. ", "Les messages sont chiffrés de bout en bout. Comparez ce code avec l'inconnu pour en être sûr. ", "Nachrichten sind Ende-zu-Ende-verschlüsselt. Vergleiche diesen Code mit dem Fremden, um sicherzugehen. "],
        SafetyCode => ["Safety code", "Código de seguridad", "Código de segurança", "Code de sécurité", "Sicherheitscode"],
        NotSealed => ["This chat is not end-to-end encrypted.", "Este chat no está cifrado de extremo a extremo.", "Esta conversa não é criptografada de ponta a ponta.", "Cette discussion n'est pas chiffrée de bout en bout.", "Dieser Chat ist nicht Ende-zu-Ende-verschlüsselt."],
        StrangersVideo => ["The stranger's video", "El vídeo del desconocido", "O vídeo do desconhecido", "La vidéo de l'inconnu", "Das Video des Fremden"],
        YourCamera => ["Your camera", "Tu cámara", "Sua câmera", "Votre caméra", "Deine Kamera"],
        TheQuestion => ["The question", "La pregunta", "A pergunta", "La question", "Die Frage"],
        // The pages around the islands.
        Tagline => ["Talk to strangers!", "¡Habla con desconocidos!", "Converse com desconhecidos!", "Parlez à des inconnus !", "Sprich mit Fremden!"],
        Pitch => ["You are paired with a random person to chat one-to-one. No sign-up, no names: you are \"You\" and they are \"Stranger\". Nothing is stored, and you can leave at any time.", "Te emparejamos con una persona al azar para chatear a solas. Sin registro y sin nombres: tú eres \"Tú\" y la otra persona es \"Desconocido\". No se guarda nada y puedes irte cuando quieras.", "Você é pareado com uma pessoa aleatória para conversar a dois. Sem cadastro, sem nomes: você é \"Você\" e a outra pessoa é \"Desconhecido\". Nada é guardado, e você pode sair a qualquer momento.", "Vous êtes mis en relation avec une personne au hasard pour discuter en tête-à-tête. Pas d'inscription, pas de noms : vous êtes « Vous » et l'autre est « Inconnu ». Rien n'est conservé, et vous pouvez partir à tout moment.", "Du wirst mit einer zufälligen Person zu einem Chat unter vier Augen verbunden. Keine Anmeldung, keine Namen: Du bist „Du“ und die andere Person ist „Fremder“. Nichts wird gespeichert, und du kannst jederzeit gehen."],
        Description => ["Talk to a random stranger, anonymously. No sign-up.", "Habla con un desconocido al azar, de forma anónima. Sin registro.", "Converse com um desconhecido aleatório, anonimamente. Sem cadastro.", "Parlez à un inconnu au hasard, anonymement. Sans inscription.", "Sprich anonym mit einem zufälligen Fremden. Ohne Anmeldung."],
        AboutStrangers => ["About Strangers", "Sobre Strangers", "Sobre o Strangers", "À propos de Strangers", "Über Strangers"],
        Rules => ["Rules", "Normas", "Regras", "Règles", "Regeln"],
        Privacy => ["Privacy", "Privacidad", "Privacidade", "Confidentialité", "Datenschutz"],
        Contact => ["Contact", "Contacto", "Contato", "Contact", "Kontakt"],
        LanguageSwitch => ["Language", "Idioma", "Idioma", "Langue", "Sprache"],
        NotFound => ["Page not found", "Página no encontrada", "Página não encontrada", "Page introuvable", "Seite nicht gefunden"],
        BackHome => ["Back to Strangers", "Volver a Strangers", "Voltar ao Strangers", "Retour à Strangers", "Zurück zu Strangers"],
    }
}

impl PageWord {
    /// The word in the language of the page being rendered. In the
    /// browser, nothing: only the server renders these, and an island's
    /// hydration leaves the server's text and attributes as they are.
    /// (Never for what an island may draw again later: that is a [`Word`].)
    pub fn say(self) -> &'static str {
        #[cfg(feature = "ssr")]
        {
            self.in_language(Language::current())
        }
        #[cfg(not(feature = "ssr"))]
        {
            ""
        }
    }
}

impl Word {
    /// The word in the page's language: on the server, the language of the
    /// page being rendered; in the browser, the page's dictionary, or
    /// English where the page has none.
    ///
    /// Never inlined: where a word is said, the browser's code is a number
    /// and a call.
    #[inline(never)]
    pub fn say(self) -> &'static str {
        #[cfg(feature = "ssr")]
        {
            self.in_language(Language::current())
        }
        #[cfg(all(not(feature = "ssr"), target_arch = "wasm32"))]
        {
            page_words().get(self as usize).copied().unwrap_or_default()
        }
        // Natively (the session's tests), English.
        #[cfg(all(not(feature = "ssr"), not(target_arch = "wasm32")))]
        {
            self.english()
        }
    }

    /// The page's dictionary for `language` (`<body data-words>`): the
    /// words `page`'s islands may say, one per line, in order, a blank line
    /// for each word before them or between them. None for English, which
    /// the browser holds.
    #[cfg(feature = "ssr")]
    pub fn dictionary(language: Language, page: Island) -> Option<String> {
        if language == Language::En {
            return None;
        }
        let mut lines: Vec<&str> = Word::ALL
            .iter()
            .map(|&word| {
                if page.may_say(word) {
                    word.in_language(language)
                } else {
                    ""
                }
            })
            .collect();
        while lines.last().is_some_and(|line| line.is_empty()) {
            lines.pop();
        }
        Some(lines.join("\n"))
    }
}

/// The pages with islands, whose words a page's dictionary carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Island {
    /// `/`: the start form and the online count.
    Start,
    /// `/chat` in text.
    TextChat,
    /// `/chat` asking or discussing a question.
    QuestionChat,
    /// `/chat` in video (which may go on in text).
    VideoChat,
}

impl Island {
    /// The page at `path` whose query's `mode` is `mode`, if it has islands.
    pub fn at(path: &str, mode: Option<&str>) -> Option<Island> {
        match (path, mode) {
            ("/", _) => Some(Island::Start),
            ("/chat", Some("video")) => Some(Island::VideoChat),
            ("/chat", Some("question" | "discuss")) => Some(Island::QuestionChat),
            ("/chat", _) => Some(Island::TextChat),
            _ => None,
        }
    }

    /// Whether this page's islands may say `word` ([`Word`]'s sections).
    #[cfg(feature = "ssr")]
    fn may_say(self, word: Word) -> bool {
        let index = word as usize;
        let shared = Word::OnlineOne as usize;
        let chat = Word::Connecting as usize;
        let question = Word::SearchingForQuestion as usize;
        let video = Word::StartingCamera as usize;
        match self {
            Island::Start => index < chat,
            Island::TextChat => (shared..question).contains(&index),
            Island::QuestionChat => (shared..video).contains(&index),
            Island::VideoChat => index >= shared && !(question..video).contains(&index),
        }
    }
}

/// The words in the page's language, read once (and kept for the page's
/// life): [`Word::ENGLISH`], each replaced by the page's own where it
/// carries one (`<body data-words>`).
#[cfg(all(not(feature = "ssr"), target_arch = "wasm32"))]
fn page_words() -> &'static [&'static str] {
    thread_local! {
        static WORDS: std::cell::OnceCell<&'static [&'static str]> =
            const { std::cell::OnceCell::new() };
    }
    WORDS.with(|words| {
        *words.get_or_init(|| {
            let mut words: Vec<&'static str> = Word::ENGLISH.split('\n').collect();
            let page: &'static str = crate::browser::page_data("words")
                .unwrap_or_default()
                .leak();
            for (word, translated) in words.iter_mut().zip(page.split('\n')) {
                if !translated.is_empty() {
                    *word = translated;
                }
            }
            words.leak()
        })
    })
}

/// `text` with its `{}` replaced by `value`. (By hand, and one copy for
/// every kind of value: `replacen`, or `to_string` on a number, each bring
/// more code into the browser's build than this.)
fn fill(text: &str, value: &dyn std::fmt::Display) -> String {
    let Some(at) = text.bytes().position(|b| b == b'{') else {
        return text.to_owned();
    };
    let (before, after) = text.split_at(at);
    format!("{before}{value}{}", after.get(2..).unwrap_or_default())
}

/// "a", "a and b", "a, b and c", in the page's language.
pub fn list(items: &[String]) -> Option<String> {
    match items {
        [] => None,
        [one] => Some(one.clone()),
        [init @ .., last] => Some(format!("{}{}{last}", init.join(", "), Word::And.say())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browser_language_picks_the_page_language_and_regions_do_not_matter() {
        let first = |header| Language::first_accepted(header);
        assert_eq!(first("es-MX,es;q=0.9,en;q=0.8"), Some(Language::Es));
        assert_eq!(first("pt-BR"), Some(Language::Pt));
        assert_eq!(first("ja,de;q=0.5,fr;q=0.7"), Some(Language::Fr));
        assert_eq!(first("DE-at"), Some(Language::De));
        assert_eq!(first("fr;q=0,en;q=0.1"), Some(Language::En));
        assert_eq!(first("ja, zh-CN"), None);
        assert_eq!(first(""), None);
        assert_eq!(
            first("es;q=abc, de;q=7"),
            None,
            "bad weights count as absent"
        );
    }

    #[test]
    fn the_footer_choice_beats_the_remembered_one_which_beats_the_browser() {
        let choose = Language::for_request;
        assert_eq!(choose(Some("de"), Some("fr"), Some("es")), Language::De);
        assert_eq!(choose(None, Some("fr"), Some("es")), Language::Fr);
        assert_eq!(choose(Some("xx"), Some("zz"), Some("es")), Language::Es);
        assert_eq!(choose(None, None, Some("ja")), Language::En);
        assert_eq!(choose(None, None, None), Language::En);
    }

    #[test]
    fn every_language_has_a_code_a_name_and_its_words_name_it() {
        for language in Language::ALL {
            assert_eq!(Language::from_code(language.code()), Some(language));
            assert!(!language.own_name().is_empty());
        }
        assert_eq!(Language::name_of("es"), Some("Spanish"));
        assert_eq!(Language::name_of("it"), None);
        assert_eq!(Language::from_code("it"), None);
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn every_word_is_translated_keeps_its_blanks_and_fits_on_one_line() {
        for language in Language::ALL {
            for word in Word::ALL.iter().copied() {
                let said = word.in_language(language);
                let english = word.english();
                assert!(!said.contains('\n'), "{word:?} in {language:?}");
                assert_eq!(said.matches("{}").count(), english.matches("{}").count());
                if !english.is_empty() {
                    assert!(!said.is_empty(), "{word:?} in {language:?}");
                }
            }
            for word in PageWord::ALL.iter().copied() {
                assert!(!word.in_language(language).is_empty());
            }
        }
        assert_eq!(Word::Stop.in_language(Language::Es), "Parar");
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_page_in_english_carries_no_dictionary_and_others_carry_what_their_islands_say() {
        let words = |page| {
            Word::dictionary(Language::Es, page)
                .unwrap()
                .split('\n')
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        let said = |words: &[String], word: Word| {
            words
                .get(word as usize)
                .is_some_and(|line| !line.is_empty())
        };
        assert_eq!(Word::dictionary(Language::En, Island::TextChat), None);

        let start = words(Island::Start);
        assert_eq!(
            start[Word::GateHint as usize],
            "Strangers es solo para adultos. Lee las normas antes de empezar."
        );
        assert_eq!(start[Word::OnlineOne as usize], "{} desconocido en línea");
        assert!(!said(&start, Word::Searching), "nothing of the chat's");

        let text = words(Island::TextChat);
        assert_eq!(
            text[Word::Searching as usize],
            "Buscando a alguien con quien puedas chatear..."
        );
        assert!(said(&text, Word::OnlineMany) && said(&text, Word::SendReport));
        for word in [
            Word::GateHint,
            Word::YouAsked,
            Word::CameraDenied,
            Word::Mute,
        ] {
            assert!(!said(&text, word), "{word:?} is not said in a text chat");
        }

        let question = words(Island::QuestionChat);
        assert!(said(&question, Word::YouAsked) && said(&question, Word::Stop));
        assert!(!said(&question, Word::CameraDenied));

        let video = words(Island::VideoChat);
        assert!(said(&video, Word::CameraDenied) && said(&video, Word::Mute));
        assert!(said(&video, Word::Stop) && !said(&video, Word::YouAsked));
    }

    #[test]
    fn the_browsers_english_lines_are_the_words_in_order() {
        let lines: Vec<&str> = Word::ENGLISH.split('\n').collect();
        assert_eq!(
            lines.len(),
            Word::ALL.len() + 1,
            "one line each, and the last newline"
        );
        for (word, line) in Word::ALL.iter().zip(lines) {
            assert_eq!(word.english(), line);
        }
    }

    #[test]
    fn lists_join_with_the_language_and() {
        let items = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&items(&[])), None);
        assert_eq!(list(&items(&["go"])).unwrap(), "go");
        assert_eq!(
            list(&items(&["go", "chess", "jazz"])).unwrap(),
            "go, chess and jazz"
        );
    }
}
