// Translations of the page (English, German, Japanese) and of every stable code in
// docs/error-codes.md. Interfaces translate codes, never the core's English messages
// (SPEC.md section 8). tests/browser/i18n.test.mjs fails when a documented code lacks a
// translation in any language.

export const LANGS = ['en', 'de', 'ja'];

const ui = {
  en: {
    title: 'Battery passport check',
    tagline: 'Checks the signed passport on a battery label, on this device.',
    valid: 'Genuine', invalid: 'Not genuine', unverifiable: 'Cannot verify',
    valid_sub: 'Signed by a recognised issuer and not revoked.',
    invalid_sub: 'This label failed a check. Do not trust the data it shows.',
    unverifiable_sub: 'This device lacks current data to decide. Treat as not confirmed.',
    why: 'Why', issuer: 'Issued by', trust_path: 'Trust path', recognised_by: 'recognised by',
    battery: 'Battery', category: 'Category', chemistry: 'Chemistry', mass: 'Mass', energy: 'Energy',
    capacity: 'Capacity', made: 'Manufactured', place: 'Place', carbon: 'Carbon footprint',
    carbon_class: 'class', recycled: 'Recycled content', recycled_note: 'pre + post consumer, beside the EU minimum shares (information only)',
    min2031: 'min. 2031', min2036: 'min. 2036', status: 'Status', passport: 'Full passport',
    open_passport: 'Open the full passport', gtin: 'GTIN', serial: 'Serial', manufacturer_id: 'Manufacturer ID',
    status_ok_revocation: 'not revoked', status_ok_suspension: 'not suspended', status_ok_refresh: 'no newer passport', status_revoked: 'revoked', status_suspended: 'suspended',
    status_superseded: 'superseded: a newer passport exists', status_unknown: 'unknown (no list)',
    status_stale: 'stale (old list)', status_not_checked: 'not checked',
    purpose_revocation: 'Revocation', purpose_suspension: 'Suspension', purpose_refresh: 'Newer passport',
    data_age: 'Data used: trust lists {trust}, status lists {status}.', data_none: 'No trust data on this device yet.',
    age_s: '{n} s old', age_m: '{n} min old', age_h: '{n} h old', age_d: '{n} days old',
    stale_flag: 'STALE', none: 'none',
    scan: 'Scan', start_camera: 'Start camera', stop_camera: 'Stop camera', torch: 'Torch', lens: 'Lens', zoom: 'Zoom',
    manual: 'Scanner or paste', manual_hint: 'A handheld scanner types here; Enter checks. You can also paste one or more codes.',
    check: 'Check', session: 'Session', session_empty: 'No scans yet.', export_csv: 'Export CSV', export_json: 'Export JSON', clear: 'Clear',
    sync: 'Sync trust data', syncing: 'Syncing…', synced: 'Synced: {n} trust lists, {m} status lists.',
    sync_failed: 'Sync failed: {why}. Keeping the data already on this device.', offline: 'Offline',
    online: 'Online', install: 'Install app', last_sync: 'Last sync: {when}', never: 'never',
    cam_denied: 'Camera permission was denied. Allow the camera in the browser settings for this site, then try again.',
    cam_none: 'No camera was found. Use a handheld scanner or paste the code instead.',
    cam_busy: 'The camera is in use by another app or tab. Close it and try again.',
    cam_insecure: 'The camera needs a secure (https) page. Open this page over https.',
    cam_other: 'The camera could not be started.',
    roots_changed: 'The registry now reports different root keys than the ones pinned on this device. The pinned keys are kept.',
    col_time: 'Time', col_result: 'Result', col_code: 'Code', col_item: 'Battery', col_issuer: 'Issuer',
    language: 'Language', duplicate: 'Already in the session',
    decode_error: 'This image could not be read.',
  },
  de: {
    title: 'Batteriepass-Prüfung',
    tagline: 'Prüft den signierten Pass auf dem Batterieetikett, auf diesem Gerät.',
    valid: 'Echt', invalid: 'Nicht echt', unverifiable: 'Nicht prüfbar',
    valid_sub: 'Von einem anerkannten Aussteller signiert und nicht widerrufen.',
    invalid_sub: 'Dieses Etikett hat eine Prüfung nicht bestanden. Den angezeigten Daten nicht vertrauen.',
    unverifiable_sub: 'Diesem Gerät fehlen aktuelle Daten für eine Entscheidung. Als nicht bestätigt behandeln.',
    why: 'Grund', issuer: 'Ausgestellt von', trust_path: 'Vertrauenspfad', recognised_by: 'anerkannt von',
    battery: 'Batterie', category: 'Kategorie', chemistry: 'Chemie', mass: 'Masse', energy: 'Energie',
    capacity: 'Kapazität', made: 'Hergestellt', place: 'Ort', carbon: 'CO₂-Fußabdruck',
    carbon_class: 'Klasse', recycled: 'Rezyklatanteil', recycled_note: 'Pre- + Post-Consumer, neben den EU-Mindestanteilen (nur zur Information)',
    min2031: 'Min. 2031', min2036: 'Min. 2036', status: 'Status', passport: 'Vollständiger Pass',
    open_passport: 'Vollständigen Pass öffnen', gtin: 'GTIN', serial: 'Seriennummer', manufacturer_id: 'Hersteller-ID',
    status_ok_revocation: 'nicht widerrufen', status_ok_suspension: 'nicht ausgesetzt', status_ok_refresh: 'kein neuerer Pass', status_revoked: 'widerrufen', status_suspended: 'ausgesetzt',
    status_superseded: 'ersetzt: es gibt einen neueren Pass', status_unknown: 'unbekannt (keine Liste)',
    status_stale: 'veraltet (alte Liste)', status_not_checked: 'nicht geprüft',
    purpose_revocation: 'Widerruf', purpose_suspension: 'Aussetzung', purpose_refresh: 'Neuerer Pass',
    data_age: 'Verwendete Daten: Vertrauenslisten {trust}, Statuslisten {status}.', data_none: 'Noch keine Vertrauensdaten auf diesem Gerät.',
    age_s: '{n} s alt', age_m: '{n} min alt', age_h: '{n} h alt', age_d: '{n} Tage alt',
    stale_flag: 'VERALTET', none: 'keine',
    scan: 'Scannen', start_camera: 'Kamera starten', stop_camera: 'Kamera stoppen', torch: 'Licht', lens: 'Objektiv', zoom: 'Zoom',
    manual: 'Scanner oder Einfügen', manual_hint: 'Ein Handscanner tippt hier; Enter prüft. Sie können auch einen oder mehrere Codes einfügen.',
    check: 'Prüfen', session: 'Sitzung', session_empty: 'Noch keine Scans.', export_csv: 'CSV exportieren', export_json: 'JSON exportieren', clear: 'Leeren',
    sync: 'Vertrauensdaten synchronisieren', syncing: 'Synchronisiere…', synced: 'Synchronisiert: {n} Vertrauenslisten, {m} Statuslisten.',
    sync_failed: 'Synchronisierung fehlgeschlagen: {why}. Die Daten auf dem Gerät bleiben erhalten.', offline: 'Offline',
    online: 'Online', install: 'App installieren', last_sync: 'Letzte Synchronisierung: {when}', never: 'nie',
    cam_denied: 'Der Kamerazugriff wurde verweigert. Erlauben Sie die Kamera in den Browsereinstellungen für diese Seite und versuchen Sie es erneut.',
    cam_none: 'Keine Kamera gefunden. Nutzen Sie einen Handscanner oder fügen Sie den Code ein.',
    cam_busy: 'Die Kamera wird von einer anderen App oder einem anderen Tab benutzt. Schließen Sie diese und versuchen Sie es erneut.',
    cam_insecure: 'Die Kamera braucht eine sichere (https-)Seite. Öffnen Sie diese Seite über https.',
    cam_other: 'Die Kamera konnte nicht gestartet werden.',
    roots_changed: 'Die Registry meldet andere Wurzelschlüssel als die auf diesem Gerät gepinnten. Die gepinnten Schlüssel bleiben.',
    col_time: 'Zeit', col_result: 'Ergebnis', col_code: 'Code', col_item: 'Batterie', col_issuer: 'Aussteller',
    language: 'Sprache', duplicate: 'Schon in der Sitzung',
    decode_error: 'Dieses Bild konnte nicht gelesen werden.',
  },
  ja: {
    title: 'バッテリーパスポート確認',
    tagline: 'バッテリーラベルの署名付きパスポートをこの端末で確認します。',
    valid: '正規品', invalid: '正規品ではありません', unverifiable: '確認できません',
    valid_sub: '認定された発行者が署名し、失効していません。',
    invalid_sub: 'このラベルは検査に合格しませんでした。表示されるデータを信用しないでください。',
    unverifiable_sub: 'この端末には判断に必要な最新データがありません。未確認として扱ってください。',
    why: '理由', issuer: '発行者', trust_path: '信頼経路', recognised_by: '承認元',
    battery: 'バッテリー', category: '区分', chemistry: '化学組成', mass: '質量', energy: 'エネルギー',
    capacity: '容量', made: '製造日', place: '製造地', carbon: 'カーボンフットプリント',
    carbon_class: 'クラス', recycled: '再生材含有率', recycled_note: 'プレ＋ポストコンシューマー、EU最低比率と併記（参考情報）',
    min2031: '2031年最低', min2036: '2036年最低', status: 'ステータス', passport: '完全なパスポート',
    open_passport: '完全なパスポートを開く', gtin: 'GTIN', serial: 'シリアル番号', manufacturer_id: '製造者ID',
    status_ok_revocation: '失効なし', status_ok_suspension: '一時停止なし', status_ok_refresh: '新しいパスポートなし', status_revoked: '失効', status_suspended: '一時停止',
    status_superseded: '更新済み：新しいパスポートがあります', status_unknown: '不明（リストなし）',
    status_stale: '古い（期限切れリスト）', status_not_checked: '未確認',
    purpose_revocation: '失効', purpose_suspension: '一時停止', purpose_refresh: '新しいパスポート',
    data_age: '使用データ：トラストリスト {trust}、ステータスリスト {status}。', data_none: 'この端末にはまだトラストデータがありません。',
    age_s: '{n}秒前', age_m: '{n}分前', age_h: '{n}時間前', age_d: '{n}日前',
    stale_flag: '期限切れ', none: 'なし',
    scan: 'スキャン', start_camera: 'カメラ開始', stop_camera: 'カメラ停止', torch: 'ライト', lens: 'レンズ', zoom: 'ズーム',
    manual: 'スキャナーまたは貼り付け', manual_hint: 'ハンディスキャナーはここに入力し、Enterで確認します。コードを貼り付けることもできます。',
    check: '確認', session: 'セッション', session_empty: 'まだスキャンはありません。', export_csv: 'CSV出力', export_json: 'JSON出力', clear: '消去',
    sync: 'トラストデータを同期', syncing: '同期中…', synced: '同期完了：トラストリスト{n}件、ステータスリスト{m}件。',
    sync_failed: '同期に失敗しました：{why}。端末内のデータを保持します。', offline: 'オフライン',
    online: 'オンライン', install: 'アプリをインストール', last_sync: '最終同期：{when}', never: 'なし',
    cam_denied: 'カメラの使用が拒否されました。ブラウザの設定でこのサイトのカメラを許可してから再試行してください。',
    cam_none: 'カメラが見つかりません。ハンディスキャナーを使うか、コードを貼り付けてください。',
    cam_busy: 'カメラは他のアプリまたはタブで使用中です。閉じてから再試行してください。',
    cam_insecure: 'カメラには安全な（https）ページが必要です。httpsでこのページを開いてください。',
    cam_other: 'カメラを起動できませんでした。',
    roots_changed: 'レジストリが端末に固定されたものと異なるルート鍵を報告しています。固定された鍵を維持します。',
    col_time: '時刻', col_result: '結果', col_code: 'コード', col_item: 'バッテリー', col_issuer: '発行者',
    language: '言語', duplicate: 'すでにセッションにあります',
    decode_error: 'この画像を読み取れませんでした。',
  },
};

// One sentence per stable code: what went wrong, in the user's words.
const codes = {
  en: {
    input_too_large: 'The scanned code is larger than any battery label allows.',
    url_invalid: 'The code is not a web address a battery label would carry.',
    url_no_fragment: 'The code is a product link without a signed passport.',
    digital_link_invalid: 'The address does not name a battery (GS1 Digital Link).',
    gtin_invalid: 'The product number (GTIN) is wrong: its check digit does not match.',
    serial_invalid: 'The serial number in the address is malformed.',
    fragment_not_numeric: 'The signed data in the code is garbled.',
    jws_malformed: 'The code does not contain a signed credential.',
    base64url_invalid: 'The signed data in the code is garbled (encoding).',
    inflate_failed: 'The compressed passport data is damaged.',
    inflate_too_large: 'The compressed passport data is implausibly large.',
    json_not_utf8: 'The passport data is not valid text.',
    json_invalid: 'The passport data is malformed.',
    json_duplicate_member: 'The passport data contains a field twice, which is not allowed.',
    json_not_object: 'The passport data has the wrong shape.',
    claim_invalid: 'A required passport field is missing or wrong.',
    alg_unsupported: 'The signature uses a method that is not accepted.',
    typ_unexpected: 'The signed data is not a battery credential.',
    kid_missing: 'The signature does not say which key made it.',
    header_forbidden: 'The signature carries a header that is not allowed.',
    zip_unsupported: 'The data uses a compression that is not allowed here.',
    signature_invalid: 'The signature does not match: the label was altered or forged.',
    key_invalid: 'A key in the trust data is not a valid signing key.',
    issuer_unknown: 'The issuer is not in any trust list this device accepts.',
    key_unknown: 'The issuer no longer lists the key that signed this label.',
    key_not_valid_at_iat: 'The label was signed outside the validity period of its key.',
    role_missing: 'The issuer is not allowed to issue battery passports.',
    recognition_scope: 'The issuer’s ecosystem is recognised, but not for this role.',
    recognition_expired: 'The recognition of the issuer’s ecosystem has ended.',
    trust_list_stale: 'The trust list on this device is out of date. Sync when online.',
    trust_list_rollback: 'An older trust list was offered and refused.',
    trust_list_untrusted: 'A trust list is signed by no pinned or recognised root.',
    sub_mismatch: 'The passport belongs to a different battery than this address: a copied label.',
    expired: 'The credential has expired.',
    not_yet_valid: 'The credential claims to be issued in the future.',
    revoked: 'The issuer has revoked this passport.',
    suspended: 'The issuer has suspended this passport.',
    superseded: 'A newer passport exists for this battery (repurposed or remanufactured).',
    status_unknown: 'This device has no status list for this battery. Sync when online.',
    status_stale: 'The status list on this device is out of date. Sync when online.',
    status_list_too_short: 'A status list is too short to protect privacy and was refused.',
    status_index_out_of_range: 'The status entry points past the end of its list.',
    status_list_rollback: 'An older status list was offered and refused.',
    status_list_untrusted: 'A status list is signed by no accepted status authority.',
    status_list_invalid: 'A status list is malformed.',
    digest_mismatch: 'The full passport does not match the label.',
    clock_floor: 'This device’s clock is behind data already checked; the newer time was used.',
    bundle_invalid: 'The registry’s data bundle is malformed.',
    empty_image: 'The image is empty.',
    buffer_size_mismatch: 'The image data has the wrong size.',
    image_too_large: 'The image is too large to scan.',
    network: 'the registry could not be reached',
  },
  de: {
    input_too_large: 'Der gescannte Code ist größer, als ein Batterieetikett erlaubt.',
    url_invalid: 'Der Code ist keine Webadresse, wie sie ein Batterieetikett trägt.',
    url_no_fragment: 'Der Code ist ein Produktlink ohne signierten Pass.',
    digital_link_invalid: 'Die Adresse bezeichnet keine Batterie (GS1 Digital Link).',
    gtin_invalid: 'Die Produktnummer (GTIN) ist falsch: die Prüfziffer stimmt nicht.',
    serial_invalid: 'Die Seriennummer in der Adresse ist fehlerhaft.',
    fragment_not_numeric: 'Die signierten Daten im Code sind verstümmelt.',
    jws_malformed: 'Der Code enthält keinen signierten Nachweis.',
    base64url_invalid: 'Die signierten Daten im Code sind verstümmelt (Kodierung).',
    inflate_failed: 'Die komprimierten Passdaten sind beschädigt.',
    inflate_too_large: 'Die komprimierten Passdaten sind unplausibel groß.',
    json_not_utf8: 'Die Passdaten sind kein gültiger Text.',
    json_invalid: 'Die Passdaten sind fehlerhaft.',
    json_duplicate_member: 'Die Passdaten enthalten ein Feld doppelt; das ist nicht erlaubt.',
    json_not_object: 'Die Passdaten haben die falsche Form.',
    claim_invalid: 'Ein Pflichtfeld des Passes fehlt oder ist falsch.',
    alg_unsupported: 'Die Signatur nutzt ein nicht zugelassenes Verfahren.',
    typ_unexpected: 'Die signierten Daten sind kein Batterienachweis.',
    kid_missing: 'Die Signatur nennt den verwendeten Schlüssel nicht.',
    header_forbidden: 'Die Signatur trägt einen unzulässigen Header.',
    zip_unsupported: 'Die Daten nutzen eine hier unzulässige Kompression.',
    signature_invalid: 'Die Signatur passt nicht: das Etikett wurde verändert oder gefälscht.',
    key_invalid: 'Ein Schlüssel in den Vertrauensdaten ist kein gültiger Signaturschlüssel.',
    issuer_unknown: 'Der Aussteller steht in keiner Vertrauensliste, die dieses Gerät akzeptiert.',
    key_unknown: 'Der Aussteller führt den Schlüssel, der dieses Etikett signiert hat, nicht mehr.',
    key_not_valid_at_iat: 'Das Etikett wurde außerhalb der Gültigkeit seines Schlüssels signiert.',
    role_missing: 'Der Aussteller darf keine Batteriepässe ausstellen.',
    recognition_scope: 'Das Ökosystem des Ausstellers ist anerkannt, aber nicht für diese Rolle.',
    recognition_expired: 'Die Anerkennung des Ökosystems des Ausstellers ist abgelaufen.',
    trust_list_stale: 'Die Vertrauensliste auf diesem Gerät ist veraltet. Online synchronisieren.',
    trust_list_rollback: 'Eine ältere Vertrauensliste wurde angeboten und abgelehnt.',
    trust_list_untrusted: 'Eine Vertrauensliste ist von keiner gepinnten oder anerkannten Wurzel signiert.',
    sub_mismatch: 'Der Pass gehört zu einer anderen Batterie als diese Adresse: ein kopiertes Etikett.',
    expired: 'Der Nachweis ist abgelaufen.',
    not_yet_valid: 'Der Nachweis gibt an, in der Zukunft ausgestellt zu sein.',
    revoked: 'Der Aussteller hat diesen Pass widerrufen.',
    suspended: 'Der Aussteller hat diesen Pass ausgesetzt.',
    superseded: 'Für diese Batterie gibt es einen neueren Pass (umgewidmet oder wiederaufbereitet).',
    status_unknown: 'Dieses Gerät hat keine Statusliste für diese Batterie. Online synchronisieren.',
    status_stale: 'Die Statusliste auf diesem Gerät ist veraltet. Online synchronisieren.',
    status_list_too_short: 'Eine Statusliste ist zum Schutz der Privatsphäre zu kurz und wurde abgelehnt.',
    status_index_out_of_range: 'Der Statuseintrag zeigt hinter das Ende seiner Liste.',
    status_list_rollback: 'Eine ältere Statusliste wurde angeboten und abgelehnt.',
    status_list_untrusted: 'Eine Statusliste ist von keiner akzeptierten Statusstelle signiert.',
    status_list_invalid: 'Eine Statusliste ist fehlerhaft.',
    digest_mismatch: 'Der vollständige Pass passt nicht zum Etikett.',
    clock_floor: 'Die Uhr dieses Geräts geht hinter bereits geprüften Daten nach; die neuere Zeit wurde verwendet.',
    bundle_invalid: 'Das Datenpaket der Registry ist fehlerhaft.',
    empty_image: 'Das Bild ist leer.',
    buffer_size_mismatch: 'Die Bilddaten haben die falsche Größe.',
    image_too_large: 'Das Bild ist zu groß zum Scannen.',
    network: 'die Registry war nicht erreichbar',
  },
  ja: {
    input_too_large: 'スキャンしたコードがバッテリーラベルの上限を超えています。',
    url_invalid: 'コードはバッテリーラベルのWebアドレスではありません。',
    url_no_fragment: 'コードは署名付きパスポートのない製品リンクです。',
    digital_link_invalid: 'アドレスがバッテリーを示していません（GS1デジタルリンク）。',
    gtin_invalid: '製品番号（GTIN）のチェックデジットが一致しません。',
    serial_invalid: 'アドレス内のシリアル番号の形式が不正です。',
    fragment_not_numeric: 'コード内の署名データが壊れています。',
    jws_malformed: 'コードに署名付きクレデンシャルが含まれていません。',
    base64url_invalid: 'コード内の署名データが壊れています（エンコード）。',
    inflate_failed: '圧縮されたパスポートデータが破損しています。',
    inflate_too_large: '圧縮されたパスポートデータが不自然に大きすぎます。',
    json_not_utf8: 'パスポートデータが有効なテキストではありません。',
    json_invalid: 'パスポートデータの形式が不正です。',
    json_duplicate_member: 'パスポートデータに同じ項目が二重にあります。',
    json_not_object: 'パスポートデータの構造が不正です。',
    claim_invalid: '必須のパスポート項目が欠落しているか不正です。',
    alg_unsupported: '署名方式が許可されていません。',
    typ_unexpected: '署名データがバッテリークレデンシャルではありません。',
    kid_missing: '署名に使用した鍵が示されていません。',
    header_forbidden: '署名に許可されていないヘッダーがあります。',
    zip_unsupported: 'ここでは許可されていない圧縮方式です。',
    signature_invalid: '署名が一致しません。ラベルが改ざんまたは偽造されています。',
    key_invalid: 'トラストデータ内の鍵が有効な署名鍵ではありません。',
    issuer_unknown: '発行者はこの端末が受け入れるトラストリストにありません。',
    key_unknown: '発行者はこのラベルに署名した鍵をもう掲載していません。',
    key_not_valid_at_iat: 'ラベルは鍵の有効期間外に署名されています。',
    role_missing: '発行者にはバッテリーパスポートの発行権限がありません。',
    recognition_scope: '発行者のエコシステムは承認されていますが、この役割では承認されていません。',
    recognition_expired: '発行者のエコシステムの承認は終了しています。',
    trust_list_stale: 'この端末のトラストリストが古くなっています。オンライン時に同期してください。',
    trust_list_rollback: '古いトラストリストが提示されたため拒否しました。',
    trust_list_untrusted: 'トラストリストが固定または承認されたルートで署名されていません。',
    sub_mismatch: 'パスポートはこのアドレスとは別のバッテリーのものです（コピーされたラベル）。',
    expired: 'クレデンシャルの有効期限が切れています。',
    not_yet_valid: 'クレデンシャルの発行日時が未来になっています。',
    revoked: '発行者がこのパスポートを失効させました。',
    suspended: '発行者がこのパスポートを一時停止しました。',
    superseded: 'このバッテリーには新しいパスポートがあります（転用または再製造）。',
    status_unknown: 'この端末にはこのバッテリーのステータスリストがありません。オンライン時に同期してください。',
    status_stale: 'この端末のステータスリストが古くなっています。オンライン時に同期してください。',
    status_list_too_short: 'ステータスリストがプライバシー保護には短すぎるため拒否しました。',
    status_index_out_of_range: 'ステータス項目がリストの範囲外を指しています。',
    status_list_rollback: '古いステータスリストが提示されたため拒否しました。',
    status_list_untrusted: 'ステータスリストが承認されたステータス機関によって署名されていません。',
    status_list_invalid: 'ステータスリストの形式が不正です。',
    digest_mismatch: '完全なパスポートがラベルと一致しません。',
    clock_floor: 'この端末の時計が確認済みデータより遅れているため、新しい時刻を使用しました。',
    bundle_invalid: 'レジストリのデータバンドルの形式が不正です。',
    empty_image: '画像が空です。',
    buffer_size_mismatch: '画像データのサイズが不正です。',
    image_too_large: '画像が大きすぎてスキャンできません。',
    network: 'レジストリに接続できませんでした',
  },
};

const categories = {
  en: { ev: 'Electric vehicle battery', lmt: 'Light means of transport battery', industrial: 'Industrial battery', stationary: 'Stationary storage battery' },
  de: { ev: 'Traktionsbatterie (Elektrofahrzeug)', lmt: 'LV-Batterie (leichte Verkehrsmittel)', industrial: 'Industriebatterie', stationary: 'Stationärer Speicher' },
  ja: { ev: '電気自動車用バッテリー', lmt: '軽輸送手段用バッテリー', industrial: '産業用バッテリー', stationary: '定置用蓄電池' },
};

export const translations = { ui, codes, categories };

let current = 'en';

/** Picks the language: the stored choice, else the first supported browser language. */
export function detectLang() {
  const stored = localStorage.getItem('cellproof.lang');
  if (LANGS.includes(stored)) return stored;
  for (const l of navigator.languages || [navigator.language || 'en']) {
    const base = String(l).toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return 'en';
}

export function setLang(lang) {
  current = LANGS.includes(lang) ? lang : 'en';
  document.documentElement.lang = current;
  localStorage.setItem('cellproof.lang', current);
}

export function lang() { return current; }

/** A UI string with `{name}` placeholders filled. */
export function t(key, vars = {}) {
  const s = ui[current][key] ?? ui.en[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => String(vars[k] ?? ''));
}

/** The sentence for a stable code; an unknown code is shown as itself, never as a message. */
export function tc(code) {
  return codes[current][code] ?? codes.en[code] ?? code;
}

export function tcat(cat) {
  return categories[current][cat] ?? cat;
}

/** Fills every element with `data-i18n="key"`. */
export function applyStatic(root = document) {
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  document.title = t('title');
}
